"""Report latency over a month of data, and the writer's ingest rate with rollups on vs off.

    python -m bench.report [--signals 1000000] [--visitors 10000] [--runs 31]
                           [--backend sqlite|postgresql|both] [--postgres URL]

For each backend: two fresh databases get the same synthetic month (``--signals`` signals from
``--visitors`` visitors, two sessions each on random days of the last 30, a batch every 10 s
within a session, 20 signals per batch:
pattern scores, evidence, counters, dwell, section events, chat tone and topics, actions)
through the real group-commit writer (``Storage.ingest``, 256 batches in flight), once with the
report rollups off and once on; the ingest rates are printed side by side, with the median of
the per-chunk ratios (each chunk's two arms measured back to back). Then the 30-day
report (``build_report``, what ``GET …/report?days=30`` runs) is timed ``--runs`` times on the
database with rollups: the first one (it fills the process's cache of closed days) apart, then
p50 and p99 of the others. No HTTP: the server's own code on a real file / database.

PostgreSQL: ``--postgres URL`` or ``RAPPORT_BENCH_POSTGRES_URL`` (a server the bench may
create databases in), else a throwaway cluster like the tests' (``server/testing/postgres.py``,
``fsync=off``: this bench compares rollups on and off, not durability).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from rapport.client_py.schema import PATTERNS, SECTIONS, TONES, TOPICS
from rapport.server.profiles import Observations
from rapport.server.report.build import build_report
from rapport.server.report.settings import set_report_settings
from rapport.server.sites.model import Site
from rapport.server.storage import Storage, create_storage
from rapport.server.storage.base import IngestBatch, StoredSignal
from rapport.server.storage.group_commit import GroupCommitStorage

NOW = 1_800_000_000.0
PER_BATCH = 20
IN_FLIGHT = 256
_encode = msgspec.json.Encoder().encode


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
            out.append(
                IngestBatch(
                    site_id=0,
                    visitor=visitor,
                    session=session,
                    batch_id=f"b{v:06d}-{b:03d}",
                    received_at=at,
                    signals=[_signal(x) for x in bodies],
                    observations=Observations(
                        patterns={pattern: score},
                        actions=frozenset({action}),
                        evidence={pattern: {"dwell_price": 0.3}},
                        tones={tone: 0.7},
                        topics={topic: 1 + b},
                        counters=counters,
                    ),
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


async def ingest_interleaved(
    arms: dict[str, tuple[Storage, Site]],
    batches: list[IngestBatch],
    in_flight: int = IN_FLIGHT,
    chunk_ratios: list[float] | None = None,
) -> dict[str, float]:
    """Signals per second per arm: the same ``IN_FLIGHT`` chunk goes to each arm in turn
    (the first arm alternating), so both arms see the same data and the same machine load.

    ``chunk_ratios`` receives, per chunk, the second arm's rate over the first's, the two
    measured back to back: on a shared machine a burst of someone else's work lands on one
    arm's chunk and moves the totals' ratio by ±0.2 between runs, their median much less."""
    spent = dict.fromkeys(arms, 0.0)
    names = list(arms)
    for i, start in enumerate(range(0, len(batches), in_flight)):
        chunk = batches[start : start + in_flight]
        took = {}
        for name in names if i % 2 == 0 else reversed(names):
            took[name] = await _chunk(*arms[name], chunk)
            spent[name] += took[name]
        if chunk_ratios is not None:
            chunk_ratios.append(took[names[0]] / took[names[-1]])
    signals = sum(len(b.signals) for b in batches)
    return {name: signals / seconds for name, seconds in spent.items()}


async def one_backend(name: str, urls: tuple[str, str], data: list[IngestBatch], runs: int) -> None:
    async with create_storage(urls[0]) as off, create_storage(urls[1]) as on:
        arms: dict[str, tuple[Storage, Site]] = {}
        for label, storage, rollups in (("off", off, False), ("on", on, True)):
            assert isinstance(storage, GroupCommitStorage)
            storage.rollups_enabled = rollups
            site = (await storage.create_site(f"bench-{label}", ["https://b.example"],
                                              now=NOW)).site  # fmt: skip
            arms[label] = (storage, site)
        pairs: list[float] = []
        rates = await ingest_interleaved(arms, data, chunk_ratios=pairs)
        print(
            f"{name:10s} ingest (interleaved chunks of {IN_FLIGHT}): rollups off "
            f"{rates['off']:9,.0f} signals/s   on {rates['on']:9,.0f} signals/s   "
            f"ratio on/off {rates['on'] / rates['off']:.2f}   median of the {len(pairs)} "
            f"chunk pairs {statistics.median(pairs):.2f}"
        )
        storage, site = arms["on"]
        await set_report_settings(storage, site.id, k=5, now=NOW)
        times = []
        report = None
        for _ in range(runs):
            t0 = time.perf_counter()
            report = await build_report(storage, site, days=30, now=NOW)
            times.append((time.perf_counter() - t0) * 1000)
        # The first report fills the process's cache of closed days (server/report/cache.py);
        # the page views after it read only the hours that can still change.
        cold, times = times[0], sorted(times[1:])
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        assert report is not None
        reach = await storage.sql_fetch("SELECT COUNT(*) FROM report_reach")
        cells = await storage.sql_fetch("SELECT COUNT(*) FROM report_rollup")
        print(
            f"{name:10s} report 30 d: first (cache cold) {cold:7.1f} ms, then p50 "
            f"{statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms   ({runs - 1} runs; "
            f"visitors={report.visitors}, "
            f"rollup rows={cells[0][0]:,}, reach rows={reach[0][0]:,})"
        )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    data = month(args.signals, args.visitors)
    print(
        f"bench.report: {sum(len(b.signals) for b in data):,} signals in {len(data):,} batches "
        f"from {args.visitors:,} visitors over 30 days; writer with {IN_FLIGHT} batches in "
        f"flight; report = build_report(days=30), k=5, {args.runs} runs"
    )
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            urls = (f"sqlite:///{Path(tmp) / 'off.db'}", f"sqlite:///{Path(tmp) / 'on.db'}")
            asyncio.run(one_backend("sqlite", urls, data, args.runs))
    if args.backend in ("postgresql", "both"):
        with postgres(args.postgres) as urls:
            asyncio.run(one_backend("postgresql", urls, data, args.runs))


if __name__ == "__main__":
    main()
