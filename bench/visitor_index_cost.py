"""What finding a visitor's signals costs ingest: 0004's index vs 0007's batch spans (issue 18).

The original design kept ``signals`` free of secondary indexes (a secondary index on the raw
table made bulk inserts much slower in its measurements). Migration 0004 added a ``signals
(site_id, visitor)`` index for visitor export and erase, which halved storage-level ingest;
migration 0007 replaced it: each ``batches`` row records the id span of its signals (on
PostgreSQL an ``id`` from a sequence with a primary key, on SQLite the rowid). This measures
the storage's group-commit ingest (the path ``/v1/collect`` takes, without HTTP) into a fresh
database as migrated (**spans**) and with 0004's index created again on top (**index**, the
layout before 0007 plus the span bookkeeping), interleaved A/B/A/B so a shared machine's drift
falls on both, and prints signals/s and the ratio. ``bench/ingest.py`` measures the whole HTTP
path (it needs ``make bench-tools``).

``--visitors`` visitors send ``--batch`` signals per batch, ``--concurrency`` batches in
flight (so the writer commits groups as under load); ``--signals`` in all per run. SQLite on a
temporary file, or PostgreSQL with ``--postgres ADMIN_URL`` (a database is created and
dropped per run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import msgspec

from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, StoredSignal, StoredSignals, create_storage

_BODY = msgspec.json.encode({"kind": "clicks", "count": 1}).decode()


async def _fresh_url(args: argparse.Namespace, tmp: Path) -> tuple[str, str | None]:
    """A URL of an empty database; and the PostgreSQL database's name, to drop it after."""
    if not args.postgres:
        return f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}", None
    import asyncpg  # type: ignore[import-untyped]

    name = f"rapport_index_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(args.postgres)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return args.postgres.rsplit("/", 1)[0] + f"/{name}", name


async def _drop(args: argparse.Namespace, name: str | None) -> None:
    if name is None:
        return
    import asyncpg

    conn = await asyncpg.connect(args.postgres)
    try:
        await conn.execute(f"DROP DATABASE {name}")
    finally:
        await conn.close()


async def one_run(args: argparse.Namespace, tmp: Path, *, index: bool) -> float:
    """Signals per second ingested into a fresh database, with or without 0004's index."""
    url, name = await _fresh_url(args, tmp)
    try:
        async with create_storage(url) as storage:
            if index:
                columns = "site_id, visitor" + (
                    "" if storage.backend == "sqlite" else ", received_at"
                )
                await storage.sql_execute(f"CREATE INDEX signals_visitor ON signals ({columns})")
            site = (await storage.create_site("S", ["https://b.example"], now=time.time())).site
            visitors = [uuid.uuid4().hex[:22] for _ in range(args.visitors)]
            batches = args.signals // args.batch
            signals = StoredSignals.of([StoredSignal("clicks", _BODY)] * args.batch)
            queue = iter(range(batches))

            async def sender() -> None:
                for n in queue:
                    await storage.ingest(IngestBatch(
                        site_id=site.id, visitor=visitors[n % len(visitors)],
                        session="session-0001", batch_id=f"b-{n}", received_at=time.time(),
                        signals=signals, observations=Observations(),
                    ))  # fmt: skip

            started = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(args.concurrency)))
            return batches * args.batch / (time.perf_counter() - started)
    finally:
        await _drop(args, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="postgresql://… admin URL (databases made per run)")
    parser.add_argument("--signals", type=int, default=200_000, help="per run")
    parser.add_argument("--batch", type=int, default=20, help="signals per batch")
    parser.add_argument("--visitors", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=64, help="batches in flight")
    parser.add_argument("--rounds", type=int, default=3, help="(index, spans) pairs")
    args = parser.parse_args()
    rates: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for index in (True, False):
                rate = asyncio.run(one_run(args, Path(tmp), index=index))
                rates[index].append(rate)
                load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
                print(f"{'index' if index else 'spans':8}: {rate:10,.0f} signals/s"
                      f"   load average {load}", flush=True)  # fmt: skip
    with_, without = statistics.median(rates[True]), statistics.median(rates[False])
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"run: {backend}, storage ingest (group commit, no HTTP), {args.signals:,} signals per "
          f"run in batches of {args.batch} from {args.visitors:,} visitors, {args.concurrency} "
          f"in flight, {args.rounds} x (index, spans) interleaved; {os.cpu_count()} cores, "
          "shared")  # fmt: skip
    print(
        f"median signals/s: 0004's index {with_:,.0f}, 0007's spans {without:,.0f}; "
        f"spans/index = {without / with_:.2f}x"
    )


if __name__ == "__main__":
    main()
