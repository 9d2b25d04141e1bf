"""``bench.cpu_use``: the CPU a process tree used, read from ``/proc``, which the ingest bench
reports per request for the server, PostgreSQL and wrk. Real processes, no timing assertions:
CPU time is what the kernel accounted, whatever the machine's speed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.cpu_use import (
    ceiling_events_per_second,
    postmaster_pid,
    tree_cpu_seconds,
)
from bench.ingest import CPU_PARTIES, cpu_table

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

#: Burns 0.3 s of its own CPU, says so, then waits (alive) until its input closes.
BURN = (
    "import sys, time\n"
    "name = sys.argv[1] if len(sys.argv) > 1 else ''\n"
    "if name: open('/proc/self/comm', 'w').write(name)\n"
    "while time.process_time() < 0.3: pass\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)


def burning(*args: str) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", BURN, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "burnt\n"
        yield child
    finally:
        child.communicate("", timeout=30)


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    yield from burning()


def test_a_living_child_counts_in_its_parents_tree(child: subprocess.Popen[str]) -> None:
    own = tree_cpu_seconds(child.pid)
    assert own >= 0.25  # 0.3 s burnt, in clock ticks of 10 ms
    assert tree_cpu_seconds(os.getpid()) >= own


def test_a_command_name_with_spaces_and_parentheses_is_read_past() -> None:
    for named in burning("a) b (c"):
        assert Path(f"/proc/{named.pid}/comm").read_text().strip() == "a) b (c"
        assert tree_cpu_seconds(named.pid) >= 0.25


def test_a_process_that_has_ended_is_not_counted() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert tree_cpu_seconds(gone.pid) == 0.0


def test_the_postmaster_is_read_from_its_pid_file(tmp_path: Path) -> None:
    (tmp_path / "postmaster.pid").write_text("4242\n/var/lib/data\n1733400000\n5432\n")
    assert postmaster_pid(tmp_path) == 4242
    assert postmaster_pid(tmp_path / "elsewhere") is None


def test_the_ceiling_is_what_the_cores_store_at_that_cost_per_batch() -> None:
    # 250 µs per batch of 20: 4,000 batches per core-second, 80,000 events per core.
    assert ceiling_events_per_second(250.0, 2, 20) == 160_000.0


def test_the_cpu_table_gives_each_partys_cost_per_request_and_the_cores_it_kept_busy() -> None:
    route = {"requests": 10_000.0, "cpu_server": 2.0, "cpu_database": 0.5, "cpu_wrk": 0.3}
    assert set(CPU_PARTIES) < set(route)
    lines = cpu_table({"/v1/collect": route}, seconds=2.0, database_measured=True)
    assert lines[-1] == "| /v1/collect | 200 | 50 | 30 | 1.00 + 0.25 + 0.15 = 1.40 |"
    without = cpu_table({"/v1/collect": route}, seconds=2.0, database_measured=False)
    assert without[-1].startswith("| /v1/collect | 200 | – | 30 |")
