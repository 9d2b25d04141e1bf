"""Visitor rights under load (issue 18, finding 1): does export/erase slow another site's hints,
and how much memory does exporting a huge visitor cost?

One ``rapport serve`` on a SQLite file. One visitor of site A holds ``--signals`` signals
(default 300 000, written through the storage's group-commit writer before the server starts).

1. **quiet**: ``/v1/hints`` of a visitor of site B, paced at ``--rate`` req/s from 127.0.0.1
   for ``--seconds``; p50/p99.
2. **hammered**: the same while another address (127.0.0.2) calls export (every page of the
   huge visitor) and erase (fresh visitors) as fast as its rights limits allow (it waits out
   each 429's ``Retry-After``); p50/p99 and the ratio to quiet (goal: p99 ≤ 1.2×).
3. **export memory**: the server's RSS (``/proc/<pid>/status``, sampled every 20 ms) while one
   export of the huge visitor is read page by page; peak growth over the RSS before it (goal:
   ≤ 50 MB).

The per-IP API limit is off (``--rate-per-ip 0``) so that the hints client is not limited; the
rights limits (30 calls a minute per address, 6 per visitor) and export slots are the
defaults. Bounded: about 30 s of seeding plus ``3 × --seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from client_py.identity import visitor_id_from_secret, visitor_key_from_secret
from server.profiles import Observations
from server.storage import IngestBatch, StoredSignal, create_storage

ORIGIN = "https://bench.example"
HESITANT = [
    {"kind": "pattern", "name": "hesitant", "score": 0.8},
    {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3},
    {"kind": "evidence", "pattern": "hesitant", "feature": "revisits", "points": 0.2},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(url: str, signals: int) -> tuple[str, str, str, int]:
    """Sites A and B; A's huge visitor. Returns (key A, key B, huge visitor's secret, site A id)."""
    async with create_storage(url) as storage:
        a = (await storage.create_site("A", [ORIGIN], now=time.time())).site
        b = (await storage.create_site("B", [ORIGIN], now=time.time())).site
        secret = secrets.token_urlsafe(16)
        visitor = visitor_id_from_secret(secret)
        body = msgspec.json.encode({"kind": "clicks", "count": 1}).decode()
        per_batch = 200
        pending = []
        for n in range(0, signals, per_batch):
            batch = IngestBatch(
                site_id=a.id, visitor=visitor, session="session-0001", batch_id=f"seed-{n}",
                received_at=time.time(),
                signals=[StoredSignal("clicks", body)] * min(per_batch, signals - n),
                observations=Observations(),
            )  # fmt: skip
            pending.append(storage.ingest(batch))
            if len(pending) >= 200:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return a.site_key, b.site_key, secret, a.id


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
    client: httpx.Client, base: str, site: str, secret: str, stop: threading.Event | None = None
) -> tuple[int, int]:
    """Every page of the visitor's export; (signals read, pages). Waits out 429s."""
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
            data = msgspec.json.decode(reply.read())
        total += data["counts"]["signals"]
        pages += 1
        page = data["next_page"]
    return total, pages


def hammer(base: str, site: str, secret: str, stop: Any, exports: Any, erases: Any) -> None:
    """Export and erase from 127.0.0.2 as fast as the rights limits allow. Runs in its own
    process: decoding 15 MB pages in the measuring process would delay its own event loop
    and count as server latency."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(transport=transport, timeout=120) as client:
        while not stop.is_set():
            export_all(client, base, site, secret, stop)
            exports.value += 1
            other = secrets.token_urlsafe(16)
            reply = client.delete(
                f"{base}/v1/visitors/{visitor_id_from_secret(other)}",
                params={"site": site}, headers={"Authorization": f"Bearer {other}"},
            )  # fmt: skip
            if reply.status_code == 429:
                stop.wait(float(reply.headers.get("retry-after", "1")))
            else:
                erases.value += 1


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signals", type=int, default=300_000)
    parser.add_argument("--rate", type=float, default=200.0, help="hints req/s")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'rights.db'}"
        started = time.perf_counter()
        site_a, site_b, secret, _ = asyncio.run(seed(url, args.signals))
        took = time.perf_counter() - started
        print(f"seeded {args.signals:,} signals for one visitor in {took:.1f} s", flush=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", str(port), "--database", url,
             "--rate-per-ip", "0", "--log-level", "warning", "--no-access-log"],
            env={**os.environ, "RAPPORT_SDK_DIR": tmp},
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
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

            print("measuring quiet hints …", flush=True)
            quiet = asyncio.run(paced_hints(hints_url, auth, args.rate, args.seconds))
            print("measuring hints under the export/erase hammer …", flush=True)
            stop, exports, erases = mp.Event(), mp.Value("i", 0), mp.Value("i", 0)
            worker = mp.Process(target=hammer, args=(base, site_a, secret, stop, exports, erases))
            worker.start()
            time.sleep(1)
            loaded = asyncio.run(paced_hints(hints_url, auth, args.rate, args.seconds))
            stop.set()
            worker.join(timeout=120)

            print("measuring one full export's memory …", flush=True)
            # Export memory: one full export, RSS sampled while it streams.
            time.sleep(31)  # the visitor's rights bucket refills (3 pages: 3 calls)
            before = rss_mb(server.pid)
            peak = [before]
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.is_set():
                    peak.append(rss_mb(server.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            with httpx.Client(timeout=300) as client:
                t0 = time.perf_counter()
                read, pages = export_all(client, base, site_a, secret)
                export_s = time.perf_counter() - t0
            sampling.set()
            sampler.join()
        finally:
            server.terminate()
            server.wait(timeout=30)
    q50, q99 = percentiles(quiet)
    l50, l99 = percentiles(loaded)
    print(f"run: SQLite, 1 process, hints paced at {args.rate:g} req/s for {args.seconds:g} s "
          f"from 127.0.0.1; hammer from 127.0.0.2; {os.cpu_count()} cores, shared")  # fmt: skip
    print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}{'n':>7}")
    print(f"{'hints, quiet':28}{q50:9.2f}{q99:9.2f}{len(quiet):7}")
    print(f"{'hints, export/erase hammer':28}{l50:9.2f}{l99:9.2f}{len(loaded):7}")
    print(f"ratio hammered/quiet: p50 {l50 / q50:.2f}x, p99 {l99 / q99:.2f}x (goal p99 <= 1.2x)")
    print(f"hammer: {exports.value} full exports, {erases.value} erases in that time")
    print(f"export of {read:,} signals ({pages} pages) in {export_s:.1f} s: server RSS "
          f"{before:.0f} MB before, peak +{max(peak) - before:.1f} MB (goal <= 50 MB)")  # fmt: skip


if __name__ == "__main__":
    main()
