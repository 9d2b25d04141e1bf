"""CPU time that a process and everything it started have used, read from ``/proc`` (Linux).

The ingest bench's load generator, the server (one process or a supervisor and its workers)
and a throwaway PostgreSQL (a postmaster and a backend per connection) share the machine's
cores. Requests per second alone cannot say which of them took the cores, or whether a route
was limited by its own CPU or by waiting; the CPU each used over the same slice can.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from pathlib import Path

__all__ = [
    "ceiling_events_per_second",
    "children_cpu_seconds",
    "postmaster_pid",
    "tree_cpu_seconds",
]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float]:
    """``(parent pid, CPU seconds)`` of one process: its own user and system time, and that of
    its children it has waited for (a PostgreSQL backend that ended is counted by the
    postmaster)."""
    text = (_PROC / str(pid) / "stat").read_text()
    # The command name (field 2) may hold spaces and parentheses: the fields after it start
    # after the last ")". Field 4 is the parent, 14–17 utime, stime, cutime, cstime.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), sum(int(t) for t in fields[11:15]) / _TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root`` and every living descendant of it (0.0 when
    ``root`` is gone). Threads are counted in their process."""
    children: defaultdict[int, list[int]] = defaultdict(list)
    cpu: dict[int, float] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, used = _stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # ended while the table was read
        children[parent].append(int(entry.name))
        cpu[int(entry.name)] = used
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo.extend(children.get(pid, ()))
    return total


def children_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended and been waited for (the
    ``wrk`` runs, once ``subprocess.run`` returns)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postmaster_pid(data_dir: Path) -> int | None:
    """The running postmaster of a cluster (the first line of its ``postmaster.pid``)."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None


def ceiling_events_per_second(cpu_us_per_batch: float, cores: int, signals_per_batch: int) -> float:
    """Stored events per second if ``cores`` did nothing but this: each batch costing
    ``cpu_us_per_batch`` µs of CPU in all (server, database and load generator). What a
    route can reach on a machine is at most this, however the work is scheduled."""
    return cores * 1e6 / cpu_us_per_batch * signals_per_batch
