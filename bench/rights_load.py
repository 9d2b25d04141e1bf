"""Visitor rights under load (issue 18, finding 1): does export/erase slow another site's hints,
and how much memory does exporting a huge visitor cost?

One ``rapport serve`` (one process) on a SQLite file, or on ``--postgres URL`` (an empty
database). Site A holds ``--huge`` visitors of ``--signals`` signals each and ``--victims``
visitors of ``--erase-signals`` signals each, written through the storage's group-commit writer
before the server starts.

1. **hints, A/B interleaved**: ``/v1/hints`` of a visitor of site B, paced at ``--rate`` req/s
   from 127.0.0.1, in ``--rounds`` pairs of ``--seconds`` windows: *quiet*, then *hammered*
   (another address, 127.0.0.2, exports every page of the huge visitors in turn and erases a
   filled victim after each export, as fast as its rights limits allow, waiting out every 429
   and 503). Interleaving keeps a shared machine's drift out of the ratio; the load average is
   printed per window. p50/p99 of all quiet and all hammered replies, and their ratio (goal:
   p99 ≤ 1.2×).
2. **export memory**: the server's RSS (``/proc/<pid>/status``, sampled every 20 ms) while one
   export of a huge visitor is read page by page; peak growth over the RSS before it (goal:
   ≤ 50 MB).

The per-IP API limit is off (``--rate-per-ip 0``) so that the hints client is not limited; the
rights limits (30 calls a minute per address, 6 per visitor) and export slots are the
defaults — several huge visitors let the hammer use its address's whole budget. The hammer
reads each page as a stream and parses only its tail (``next_page``), so its own CPU is small.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from rapport.client_py.identity import visitor_id_from_secret, visitor_key_from_secret
from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, StoredSignal, StoredSignals, create_storage
from rapport.server.testing.server import free_port, serve_process, wait_until_serving

ORIGIN = "https://bench.example"
HESITANT = [
    {"kind": "pattern", "name": "hesitant", "score": 0.8},
    {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3},
    {"kind": "evidence", "pattern": "hesitant", "feature": "revisits", "points": 0.2},
]


async def seed(
    url: str, *, huge: int, signals: int, victims: int, erase_signals: int
) -> tuple[str, str, list[str], list[str]]:
    """Sites A and B; A's huge visitors and erase victims. Returns (key A, key B, the huge
    visitors' secrets, the victims' secrets)."""
    async with create_storage(url) as storage:
        a = (await storage.create_site("A", [ORIGIN], now=time.time())).site
        b = (await storage.create_site("B", [ORIGIN], now=time.time())).site
        body = msgspec.json.encode({"kind": "clicks", "count": 1}).decode()
        per_batch = 200
        pending = []
        huge_secrets = [secrets.token_urlsafe(16) for _ in range(huge)]
        victim_secrets = [secrets.token_urlsafe(16) for _ in range(victims)]
        fills = [(s, signals) for s in huge_secrets] + [(s, erase_signals) for s in victim_secrets]
        for secret, count in fills:
            visitor = visitor_id_from_secret(secret)
            for n in range(0, count, per_batch):
                batch = IngestBatch(
                    site_id=a.id, visitor=visitor, session="session-0001",
                    batch_id=f"seed-{visitor[:8]}-{n}", received_at=time.time(),
                    signals=StoredSignals.of(
                        [StoredSignal("clicks", body)] * min(per_batch, count - n)),
                    observations=Observations(),
                )  # fmt: skip
                pending.append(storage.ingest(batch))
                if len(pending) >= 200:
                    await asyncio.gather(*pending)
                    pending.clear()
        await asyncio.gather(*pending)
        return a.site_key, b.site_key, huge_secrets, victim_secrets


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def paced_hints(
    url: str, headers: dict[str, str], rate: float, seconds: float
) -> list[float]:
    """Send at a fixed schedule (not closed-loop) and time every reply, in ms; a request that
    fails or times out (10 s) counts as 10 s."""
    times: list[float] = []
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64)) as client:

        async def one() -> None:
            started = time.perf_counter()
            try:
                ok = (await client.get(url, headers=headers)).status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append((time.perf_counter() - started) * 1000 if ok else 10_000.0)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return times


def export_all(
    client: httpx.Client, base: str, site: str, secret: str, stop: Any = None
) -> tuple[int, int]:
    """Every page of the visitor's export, read as a stream; (bytes read, pages). Waits out
    429s and 503s. Only each page's tail is parsed (``next_page`` is its last key)."""
    visitor, page, total, pages = visitor_id_from_secret(secret), 0, 0, 0
    while page is not None and not (stop and stop.is_set()):
        with client.stream(
            "GET", f"{base}/v1/visitors/{visitor}", params={"site": site, "page": page},
            headers={"Authorization": f"Bearer {secret}"},
        ) as reply:  # fmt: skip
            if reply.status_code in (429, 503):
                wait = float(reply.headers.get("retry-after", "1"))
                stop.wait(wait) if stop else time.sleep(wait)
                continue
            assert reply.status_code == 200, reply.status_code
            tail = b""
            for piece in reply.iter_raw():
                total += len(piece)
                tail = (tail + piece)[-4096:]
        pages += 1
        page = msgspec.json.decode(b"{" + tail[tail.rindex(b'"counts"') :])["next_page"]
    return total, pages


def hammer(base: str, site: str, huge: list[str], victims: Any, stop: Any, counts: Any) -> None:
    """Export and erase from 127.0.0.2 as fast as the rights limits allow: each huge visitor in
    turn, every page, then erase the next filled victim. Runs in its own process (reading
    15 MB pages in the measuring process would delay its event loop and count as server
    latency). ``victims`` is a shared queue; ``counts`` [pages, erases, erased rows]."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=120) as client:
        turn = 0
        while not stop.is_set():
            _, pages = export_all(client, base, site, huge[turn % len(huge)], stop)
            turn += 1
            counts[0] += pages
            try:
                victim = victims.get_nowait()
            except queue.Empty:
                victim = secrets.token_urlsafe(16)
            while not stop.is_set():
                reply = client.delete(
                    f"{base}/v1/visitors/{visitor_id_from_secret(victim)}",
                    params={"site": site}, headers={"Authorization": f"Bearer {victim}"},
                )  # fmt: skip
                if reply.status_code != 429:
                    counts[1] += 1
                    counts[2] += sum(reply.json()["removed"].values())
                    break
                stop.wait(float(reply.headers.get("retry-after", "1")))


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def load_average() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def export_memory(base: str, pid: int, site: str, secret: str) -> str:
    """One full export of a huge visitor, the server's RSS sampled while it streams."""
    before = rss_mb(pid)
    peak = [before]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak.append(rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with httpx.Client(timeout=300) as client:
        t0 = time.perf_counter()
        read, pages = export_all(client, base, site, secret)
        took = time.perf_counter() - t0
    sampling.set()
    sampler.join()
    return (
        f"export ({read / 1e6:.0f} MB of JSON, {pages} pages) in {took:.1f} s: server RSS "
        f"{before:.0f} MB before, peak +{max(peak) - before:.1f} MB (goal <= 50 MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="postgresql://… (an empty database) instead of SQLite")
    parser.add_argument("--signals", type=int, default=300_000, help="per huge visitor")
    parser.add_argument("--huge", type=int, default=2, help="huge visitors to export")
    parser.add_argument("--victims", type=int, default=8, help="filled visitors to erase")
    parser.add_argument("--erase-signals", type=int, default=20_000, help="per victim")
    parser.add_argument("--rate", type=float, default=100.0, help="hints req/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="per window")
    parser.add_argument("--rounds", type=int, default=2, help="quiet/hammered window pairs")
    parser.add_argument("--no-memory", action="store_true", help="skip the export RSS arm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'rights.db'}"
        started = time.perf_counter()
        site_a, site_b, huge, victims = asyncio.run(
            seed(url, huge=args.huge, signals=args.signals, victims=args.victims,
                 erase_signals=args.erase_signals)
        )  # fmt: skip
        took = time.perf_counter() - started
        print(f"seeded {args.huge} x {args.signals:,} + {args.victims} x "
              f"{args.erase_signals:,} signals in {took:.1f} s", flush=True)  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = serve_process(
            url, port, "--rate-per-ip", "0", "--log-level", "warning", "--no-access-log",
            env={**os.environ, "RAPPORT_SDK_DIR": tmp},
        )  # fmt: skip
        quiet: list[float] = []
        loaded: list[float] = []
        hammered = [0, 0, 0]
        try:
            wait_until_serving(base, server, timeout=30)
            # Site B's visitor, with a hint, proven by its key.
            b_secret = secrets.token_urlsafe(16)
            b_key = visitor_key_from_secret(b_secret)
            reply = httpx.post(
                f"{base}/v1/collect", headers={"Origin": ORIGIN},
                json={"site": site_b, "key": b_key, "session": "session-0001",
                      "batch": "batch-b-0001", "signals": HESITANT},
            )  # fmt: skip
            assert reply.status_code == 200, reply.text
            hints_url = f"{base}/v1/hints/{visitor_id_from_secret(b_secret)}?site={site_b}"
            auth = {"Authorization": f"Bearer {b_key}"}
            asyncio.run(paced_hints(hints_url, auth, args.rate, 2))  # warm-up

            victim_queue: Any = mp.Queue()
            for victim in victims:
                victim_queue.put(victim)
            print(f"{'window':10}{'p50 ms':>9}{'p99 ms':>9}{'load average':>18}", flush=True)
            for _ in range(args.rounds):
                times = asyncio.run(paced_hints(hints_url, auth, args.rate, args.seconds))
                quiet += times
                print(f"{'quiet':10}{percentiles(times)[0]:9.2f}{percentiles(times)[1]:9.2f}"
                      f"{load_average():>18}", flush=True)  # fmt: skip
                stop, counts = mp.Event(), mp.Array("l", 3)
                worker = mp.Process(
                    target=hammer, args=(base, site_a, huge, victim_queue, stop, counts)
                )
                worker.start()
                time.sleep(1)
                times = asyncio.run(paced_hints(hints_url, auth, args.rate, args.seconds))
                loaded += times
                stop.set()
                worker.join(timeout=120)
                hammered = [x + y for x, y in zip(hammered, counts, strict=True)]
                print(f"{'hammered':10}{percentiles(times)[0]:9.2f}{percentiles(times)[1]:9.2f}"
                      f"{load_average():>18}   ({counts[0]} export pages, {counts[1]} erases)",
                      flush=True)  # fmt: skip
            memory = None
            if not args.no_memory:
                print("measuring one full export's memory …", flush=True)
                time.sleep(11)  # the visitor's rights bucket refills (3 pages: 3 calls)
                memory = export_memory(base, server.pid, site_a, huge[-1])
        finally:
            server.terminate()
            server.wait(timeout=30)
    q50, q99 = percentiles(quiet)
    l50, l99 = percentiles(loaded)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"run: {backend}, 1 process, hints paced at {args.rate:g} req/s from 127.0.0.1 in "
          f"{args.rounds} x (quiet {args.seconds:g} s, hammered {args.seconds:g} s) windows; "
          f"hammer from 127.0.0.2; {os.cpu_count()} cores, shared")  # fmt: skip
    print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}{'n':>7}")
    print(f"{'hints, quiet':28}{q50:9.2f}{q99:9.2f}{len(quiet):7}")
    print(f"{'hints, export/erase hammer':28}{l50:9.2f}{l99:9.2f}{len(loaded):7}")
    print(f"ratio hammered/quiet: p50 {l50 / q50:.2f}x, p99 {l99 / q99:.2f}x (goal p99 <= 1.2x)")
    print(f"hammer: {hammered[0]} export pages ({args.signals // 100_000 or 1} per visitor), "
          f"{hammered[1]} erases ({hammered[2]:,} rows) in that time; load average now "
          f"{load_average()}")  # fmt: skip
    if memory:
        print(memory)


if __name__ == "__main__":
    main()
