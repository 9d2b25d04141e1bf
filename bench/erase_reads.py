"""Does a SQLite erase delay reads on the shared reader connection? (issue 18, storage level)

``bench/rights_load.py`` measures ``/v1/hints`` over HTTP while another address exports and
erases; on a loaded shared machine its p99 is mostly the machine. This isolates the storage:
one SQLite file, ``--victims`` visitors of ``--signals`` signals each, and a probe that runs
the read ``/v1/hints`` makes on the shared reader connection (the visitor's recent feedback)
``--rate`` times a second, open loop, in windows **quiet, then while erasing**, interleaved
(A/B/A/B). During the erase windows, victims are erased one after another, each with an
export's read transaction open on another connection (as under the rights hammer: a snapshot
held open keeps the WAL from being reset, so checkpoints keep running). Prints the probe's
p50/p99/max per window and overall, the erase time, and the load average.

Run it with another checkout first on ``PYTHONPATH`` to measure that code the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiosqlite
import msgspec

from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, StoredSignal, StoredSignals, create_storage
from rapport.server.storage.base import Storage

_BODY = msgspec.json.encode({"kind": "clicks", "count": 1}).decode()
_PROBE = (
    "SELECT hint_id, outcome, at FROM hint_feedback "
    "WHERE site_id = ? AND visitor = ? AND at >= ? ORDER BY at"
)


async def _seed(storage: Storage, site_id: int, victims: int, signals: int) -> list[str]:
    names = [f"victim-{n:03d}" for n in range(victims)]
    pending = []
    for name in names:
        for n in range(0, signals, 200):
            pending.append(storage.ingest(IngestBatch(
                site_id=site_id, visitor=name, session="session-0001",
                batch_id=f"{name}-{n}", received_at=time.time(),
                signals=StoredSignals.of([StoredSignal("clicks", _BODY)] * min(200, signals - n)),
                observations=Observations(),
            )))  # fmt: skip
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending.clear()
    await asyncio.gather(*pending)
    return names


async def _probe(storage: Storage, site_id: int, rate: float, until: asyncio.Event) -> list[float]:
    times: list[float] = []

    async def one() -> None:
        started = time.perf_counter()
        await storage.sql_fetch(_PROBE, (site_id, "reader", 0.0))
        times.append((time.perf_counter() - started) * 1000)

    tasks = []
    start = time.perf_counter()
    n = 0
    while not until.is_set():
        tasks.append(asyncio.ensure_future(one()))
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
    await asyncio.gather(*tasks)
    return times


def _stats(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return (
        statistics.median(ordered),
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        ordered[-1],
    )


def _load() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "erase.db"
        async with create_storage(f"sqlite:///{path}") as storage:
            site = (await storage.create_site("S", ["https://a.example"], now=time.time())).site
            victims = await _seed(storage, site.id, args.victims, args.signals)
            quiet: list[float] = []
            erasing: list[float] = []
            erase_seconds: list[float] = []
            print(f"{'window':10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'load average':>18}")
            for _ in range(args.rounds):
                stop = asyncio.Event()
                asyncio.get_running_loop().call_later(args.seconds, stop.set)
                times = await _probe(storage, site.id, args.rate, stop)
                quiet += times
                print(f"{'quiet':10}" + "".join(f"{v:9.2f}" for v in _stats(times))
                      + f"{_load():>18}", flush=True)  # fmt: skip
                stop = asyncio.Event()
                probe = asyncio.ensure_future(_probe(storage, site.id, args.rate, stop))
                ended = time.perf_counter() + args.seconds
                erased = 0
                while time.perf_counter() < ended and victims:
                    async with aiosqlite.connect(path) as export:  # an export's snapshot
                        await export.execute("BEGIN")
                        await (await export.execute("SELECT COUNT(*) FROM batches")).fetchall()
                        started = time.perf_counter()
                        await storage.erase_visitor(site.id, victims.pop())
                        erase_seconds.append(time.perf_counter() - started)
                        erased += 1
                await asyncio.sleep(max(0.0, ended - time.perf_counter()))
                stop.set()
                times = await probe
                erasing += times
                print(f"{'erasing':10}" + "".join(f"{v:9.2f}" for v in _stats(times))
                      + f"{_load():>18}   ({erased} erases)", flush=True)  # fmt: skip
    q, e = _stats(quiet), _stats(erasing)
    print(f"run: SQLite storage (no HTTP), probe {args.rate:g}/s on the shared reader, "
          f"{args.rounds} x (quiet, erasing) {args.seconds:g} s windows, victims of "
          f"{args.signals:,} signals; {os.cpu_count()} cores, load average {_load()}")  # fmt: skip
    print(f"probe quiet:   p50 {q[0]:.2f} ms, p99 {q[1]:.2f} ms, max {q[2]:.2f} ms")
    print(f"probe erasing: p50 {e[0]:.2f} ms, p99 {e[1]:.2f} ms, max {e[2]:.2f} ms")
    print(f"ratio erasing/quiet: p50 {e[0] / q[0]:.2f}x, p99 {e[1] / q[1]:.2f}x")
    if erase_seconds:
        print(f"erase of one victim: median {statistics.median(erase_seconds):.2f} s "
              f"({len(erase_seconds)} erases)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--victims", type=int, default=30)
    parser.add_argument("--signals", type=int, default=20_000, help="per victim")
    parser.add_argument("--rate", type=float, default=200.0, help="probe reads per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="(quiet, erasing) pairs")
    asyncio.run(main(parser.parse_args()))
