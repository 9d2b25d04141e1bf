"""Report latency over a month of data, and the writer's ingest rate with rollups on vs off.

    python -m bench.report [--signals 1000000] [--visitors 10000] [--runs 31]
                           [--backend sqlite|postgresql|both] [--postgres URL]
                           [--month both|personas|synthetic]

For each month (below) and backend: two fresh databases get the same month through the real
group-commit writer (``Storage.ingest``, 256 batches in flight), once with the
report rollups off and once on; the ingest rates are printed side by side, with the median of
the per-chunk ratios (each chunk's two arms measured back to back). Then the 30-day
report (``build_report``, what ``GET …/report?days=30`` runs) is timed ``--runs`` times on the
database with rollups: the first one (it fills the process's cache of closed days) apart, then
p50 and p99 of the others. No HTTP: the server's own code on a real file / database.

The months (``--month both``, the default, runs the first then the second):

* ``personas``: batches as the real client sends them (``bench/persona_month.py``: the demo's
  persona visitors recorded in headless Chromium, replayed as new visitors at random times of
  the month until ``--signals``; ``--visitors`` is then what it takes). What a site's traffic
  looks like.
* ``synthetic``: ``--signals`` signals from ``--visitors`` visitors, two sessions each on
  random days of the last 30, a batch every 10 s within a session, 20 signals per batch, each
  batch with a pattern score that usually crosses the threshold, evidence, counters, dwell,
  section events, chat tone and topic, an action. The rollups' worst case.

PostgreSQL: ``--postgres URL`` or ``RAPPORT_BENCH_POSTGRES_URL`` (a server the bench may
create databases in), else a throwaway cluster like the tests' (``server/testing/postgres.py``,
``fsync=off``: this bench compares rollups on and off, not durability).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from rapport.client_py.schema import PATTERNS, SECTIONS, TONES, TOPICS
from rapport.server.ingest.extract import extract_observations
from rapport.server.ingest.schema import Signal
from rapport.server.report.build import build_report
from rapport.server.report.settings import set_report_settings
from rapport.server.serving import freeze_startup_objects
from rapport.server.sites.model import Site
from rapport.server.storage import Storage, create_storage
from rapport.server.storage.base import IngestBatch, StoredSignal, StoredSignals
from rapport.server.storage.group_commit import GroupCommitStorage

NOW = 1_800_000_000.0
PER_BATCH = 20
IN_FLIGHT = 256
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Signal).decode


def _signal(body: dict[str, Any]) -> StoredSignal:
    return StoredSignal(kind=str(body["kind"]), body=_encode(body).decode())


def month(signals: int, visitors: int, seed: int = 7) -> list[IngestBatch]:
    """The synthetic month, in received order (site id filled in later)."""
    rng = random.Random(seed)
    batches_total = max(1, signals // PER_BATCH)
    per_visitor = max(1, batches_total // visitors)
    out: list[IngestBatch] = []
    for v in range(visitors):
        visitor = f"v{v:06d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}"
        days = sorted(rng.sample(range(30), 2))
        starts = {d: NOW - (29 - d) * 86_400 - rng.uniform(600, 80_000) for d in days}
        for b in range(per_visitor):
            day = days[0] if b < per_visitor // 2 else days[1]
            session = f"s{v:06d}-{day:02d}"
            at = starts[day] + 10 * b  # a batch every 10 s within the session
            pattern = rng.choice(PATTERNS)
            score = round(rng.uniform(0.2, 0.95), 2)
            counters = {"rage_clicks": rng.randint(0, 3), "quick_backs": rng.randint(0, 2)}
            tone = rng.choice(TONES)
            topic = rng.choice(TOPICS)
            action = rng.choice(("add_to_cart", "purchase", "view_item", "view_item"))
            bodies: list[dict[str, Any]] = [
                {"kind": "pattern", "name": pattern, "score": score},
                {"kind": "evidence", "pattern": pattern, "feature": "dwell_price", "points": 0.3},
                *({"kind": "counter", "name": n, "count": c} for n, c in counters.items()),
                {"kind": "tone", "name": tone, "score": 0.7},
                {"kind": "topic", "name": topic, "count": 1 + b},
                {"kind": "action", "name": action},
            ]
            while len(bodies) < PER_BATCH:
                section = rng.choice(SECTIONS)
                bodies.append(
                    {"kind": "dwell", "section": section, "seconds": round(rng.uniform(1, 60), 1)}
                    if rng.random() < 0.7
                    else {"kind": "section_event", "name": "hover_without_click",
                          "section": section, "count": 1}
                )  # fmt: skip
            rows = [_signal(x) for x in bodies]
            out.append(
                IngestBatch(
                    site_id=0,
                    visitor=visitor,
                    session=session,
                    batch_id=f"b{v:06d}-{b:03d}",
                    received_at=at,
                    signals=StoredSignals.of(rows),
                    # What the request handler extracts, by its own code.
                    observations=extract_observations([_decode(s.body) for s in rows]),
                )
            )
    out.sort(key=lambda x: x.received_at)
    return out


async def _chunk(storage: Storage, site: Site, chunk: list[IngestBatch]) -> float:
    """Seconds to ingest ``chunk`` through the writer, all of it in flight at once."""
    started = time.perf_counter()
    await asyncio.gather(
        *(
            storage.ingest(
                IngestBatch(site.id, b.visitor, b.session, b.batch_id, b.received_at, b.signals,
                            b.observations)
            )
            for b in chunk
        )
    )  # fmt: skip
    return time.perf_counter() - started


def make_month(kind: str, signals: int, visitors: int) -> list[IngestBatch]:
    """``--month``'s batches, in received order."""
    if kind == "personas":
        from bench.persona_month import month as persona_month

        return persona_month(signals, NOW)
    return month(signals, visitors)


def _arm(pipe: Connection, url: str, rollups: bool, kind: str, signals: int, visitors: int) -> None:
    """One arm in a process of its own, like one server process: its own heap and garbage
    collector. With both arms in one process, a full collection walked both arms' profile
    caches and was charged to whichever arm's allocation triggered it (the arm with rollups
    allocates more), so the ratio moved with where the collections happened to land.

    Answers the parent's commands on ``pipe``: a chunk index → the seconds it took; ``"report"``
    → the report timings; ``None`` → exit."""
    data = make_month(kind, signals, visitors)
    # What a server process does once its app is built (server/serving.py): freeze what
    # exists and collect less often. The synthetic month (1 M signals as Python objects),
    # which no server holds, is frozen with it, so full passes do not walk it.
    freeze_startup_objects()
    asyncio.run(_serve_arm(pipe, url, rollups, data))


async def _serve_arm(pipe: Connection, url: str, rollups: bool, data: list[IngestBatch]) -> None:
    async with create_storage(url) as storage:
        assert isinstance(storage, GroupCommitStorage)
        storage.rollups_enabled = rollups
        site = (await storage.create_site("bench", ["https://b.example"], now=NOW)).site
        chunks = [data[i : i + IN_FLIGHT] for i in range(0, len(data), IN_FLIGHT)]
        pipe.send(len(chunks))
        while (command := pipe.recv()) is not None:
            if command == "report":
                pipe.send(await _reports(storage, site, int(pipe.recv())))
            else:
                pipe.send(await _chunk(storage, site, chunks[int(command)]))


async def _reports(storage: Storage, site: Site, runs: int) -> tuple[list[float], list[int]]:
    """Milliseconds of ``runs`` 30-day reports, and (visitors, rollup rows, reach rows)."""
    await set_report_settings(storage, site.id, k=5, now=NOW)
    times = []
    visitors: int | None = None
    for _ in range(runs):
        t0 = time.perf_counter()
        visitors = (await build_report(storage, site, days=30, now=NOW)).visitors
        times.append((time.perf_counter() - t0) * 1000)
    reach = await storage.sql_fetch("SELECT COUNT(*) FROM report_reach")
    cells = await storage.sql_fetch("SELECT COUNT(*) FROM report_rollup")
    return times, [visitors or 0, int(cells[0][0]), int(reach[0][0])]


def one_backend(
    name: str,
    urls: tuple[str, str],
    kind: str,
    signals: int,
    visitors: int,
    runs: int,
    total: int,
) -> None:
    """Both arms side by side: each chunk of ``IN_FLIGHT`` batches goes to one arm's process
    and then the other's (the first arm alternating), never both at once, so both see the
    same data under the same machine load."""
    context = multiprocessing.get_context("spawn")
    pipes: dict[str, Connection] = {}
    processes = []
    for label, url, rollups in (("off", urls[0], False), ("on", urls[1], True)):
        parent, child = context.Pipe()
        process = context.Process(
            target=_arm, args=(child, url, rollups, kind, signals, visitors), daemon=True
        )
        process.start()
        pipes[label] = parent
        processes.append(process)
    try:
        count = min([pipe.recv() for pipe in pipes.values()])
        spent = dict.fromkeys(pipes, 0.0)
        pairs: list[float] = []  # per chunk, off's seconds over on's: the on/off rate ratio
        for i in range(count):
            took = {}
            for label in ("off", "on") if i % 2 == 0 else ("on", "off"):
                pipes[label].send(i)
                took[label] = pipes[label].recv()
                spent[label] += took[label]
            pairs.append(took["off"] / took["on"])
        rates = {label: total / seconds for label, seconds in spent.items()}
        print(
            f"{name:10s} ingest (interleaved chunks of {IN_FLIGHT}, one process per arm): "
            f"rollups off {rates['off']:9,.0f} signals/s   on {rates['on']:9,.0f} signals/s   "
            f"ratio on/off {rates['on'] / rates['off']:.2f}   median of the {len(pairs)} "
            f"chunk pairs {statistics.median(pairs):.2f}"
        )
        pipes["on"].send("report")
        pipes["on"].send(runs)
        times, (seen, cells, reach) = pipes["on"].recv()
        # The first report fills the process's cache of closed days (server/report/cache.py);
        # the page views after it read only the hours that can still change.
        cold, times = times[0], sorted(times[1:])
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"{name:10s} report 30 d: first (cache cold) {cold:7.1f} ms, then p50 "
            f"{statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms   ({runs - 1} runs; "
            f"visitors={seen}, rollup rows={cells:,}, reach rows={reach:,})"
        )
    finally:
        for pipe in pipes.values():
            with contextlib.suppress(OSError):
                pipe.send(None)
        for process in processes:
            process.join(timeout=60)


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[tuple[str, str]]:
    """Two fresh databases on ``url``'s server, or on a throwaway cluster."""
    import asyncpg  # type: ignore[import-untyped]

    from rapport.server.testing.postgres import cluster

    with contextlib.ExitStack() as stack:
        if url is None:
            url = stack.enter_context(cluster()).admin_url
        names = [f"rapport_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]

        async def admin(sql: str) -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        for n in names:
            asyncio.run(admin(f'CREATE DATABASE "{n}"'))
        base = url.rpartition("/")[0]
        try:
            yield (f"{base}/{names[0]}", f"{base}/{names[1]}")
        finally:
            for n in names:
                asyncio.run(admin(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))


def one_month(kind: str, args: argparse.Namespace) -> None:
    """Both backends (or the one asked for) over one month."""
    data = make_month(kind, args.signals, args.visitors)
    print(
        f"bench.report: {kind} month, {sum(b.signals.count for b in data):,} signals in "
        f"{len(data):,} batches from {len({b.visitor for b in data}):,} visitors over 30 days; "
        f"writer with {IN_FLIGHT} batches in "
        f"flight; report = build_report(days=30), k=5, {args.runs} runs; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    sizes = (kind, args.signals, args.visitors, args.runs, sum(b.signals.count for b in data))
    del data  # each arm's process makes its own
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            urls = (f"sqlite:///{Path(tmp) / 'off.db'}", f"sqlite:///{Path(tmp) / 'on.db'}")
            one_backend("sqlite", urls, *sizes)
    if args.backend in ("postgresql", "both"):
        with postgres(args.postgres) as urls:
            one_backend("postgresql", urls, *sizes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_BENCH_POSTGRES_URL"))
    parser.add_argument(
        "--month", choices=("both", "synthetic", "personas"), default="both",
        help="both (the default): the real-client month, then the synthetic worst case",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for kind in ("personas", "synthetic") if args.month == "both" else (args.month,):
        one_month(kind, args)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
