"""Crash recovery: SIGKILL a real ``rapport serve`` again and again under load.

Clients send numbered batches concurrently, each with a unique id and a known number of
signals, and retry failed ones with the *same* id. The server is killed with SIGKILL at
random moments (no drain, no graceful anything) and restarted. At the end every batch that
ever got a 2xx must be stored exactly once, with exactly its signals, counted directly in
the database, and batches that were retried must not be duplicated.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from rapport.server.storage import create_storage
from rapport.server.testing.server import free_port, serve_process, wait_until_serving
from tests.server.pg_cluster import rows_per_batch

ORIGIN = "https://crash.example"
CLIENTS = 6


def signals_in(number: int) -> int:
    return number % 7 + 1


class Server:
    def __init__(self, database_url: str, port: int) -> None:
        self.database_url = database_url
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = serve_process(
            self.database_url, self.port, "--rate-per-ip", "0", "--rate-per-site", "0",
            "--no-access-log", "--log-level", "warning",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until_serving(self.base, self.process, timeout=30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


def run_crash_test(
    database_url: str, count_rows: Callable[[], dict[str, tuple[int, int]]], kills: int
) -> None:
    async def add_site() -> str:
        async with create_storage(database_url) as storage:
            return (await storage.create_site("Crash", [ORIGIN], now=time.time())).site.site_key

    site_key = asyncio.run(add_site())
    server = Server(database_url, free_port())
    server.start()

    numbers = itertools.count()
    lock = threading.Lock()
    acked: dict[str, int] = {}  # batch id -> signals
    retried: set[str] = set()
    duplicates: set[str] = set()
    stop = threading.Event()
    errors: list[BaseException] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=10, headers={"Origin": ORIGIN}) as http:
            while not stop.is_set():
                with lock:
                    number = next(numbers)
                batch_id = f"batch-{number:08d}"
                n = signals_in(number)
                body = json.dumps({
                    "site": site_key, "key": f"visitor-{number % 50:04d}".ljust(43, "k"),
                    "session": f"session-{number % 50:04d}", "batch": batch_id,
                    "signals": [{"kind": "clicks", "count": i + 1} for i in range(n)],
                })  # fmt: skip
                attempts = 0
                while True:  # retry the SAME batch until it is acknowledged
                    attempts += 1
                    try:
                        reply = http.post(f"{server.base}/v1/collect", content=body)
                    except httpx.TransportError:
                        time.sleep(rng.uniform(0.01, 0.05))
                        continue
                    if reply.status_code == 200:
                        with lock:
                            acked[batch_id] = n
                            if attempts > 1:
                                retried.add(batch_id)
                            if reply.json()["duplicate"]:
                                duplicates.add(batch_id)
                        break
                    if reply.status_code != 503:
                        errors.append(AssertionError(f"{reply.status_code}: {reply.text}"))
                        return
                    time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    rng = random.Random(1234)
    try:
        for _ in range(kills):
            time.sleep(rng.uniform(0.05, 0.5))
            server.kill()
            server.start()
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        stop.set()
        server.kill()
    assert not errors, errors[:3]
    assert not any(t.is_alive() for t in threads)

    rows = count_rows()
    assert len(acked) > 100
    assert retried, "no batch was retried: the kills did not hit a request in flight"
    missing = sorted(set(acked) - set(rows))
    assert not missing, f"{len(missing)} acknowledged batches lost, e.g. {missing[:5]}"
    wrong = {b: (rows[b], n) for b, n in acked.items() if rows[b] != (1, n)}
    assert not wrong, f"batches stored wrongly (rows, expected signals): {list(wrong.items())[:5]}"
    # Rows for batches never acknowledged may exist (committed, then killed before the
    # reply and never retried because the client stopped); never more than once each.
    assert all(count == 1 for count, _ in rows.values())
    assert all(signals == signals_in(int(b.split("-")[1])) for b, (_, signals) in rows.items())
    print(f"acked={len(acked)} retried={len(retried)} duplicate-replies={len(duplicates)}")


def test_sigkill_loses_no_acknowledged_batch_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"

    def count_rows() -> dict[str, tuple[int, int]]:
        with sqlite3.connect(path) as conn:
            batches = dict(conn.execute("SELECT batch_id, COUNT(*) FROM batches GROUP BY batch_id"))
            signals = dict(conn.execute("SELECT batch_id, COUNT(*) FROM signals GROUP BY batch_id"))
        return {b: (n, signals.get(b, 0)) for b, n in batches.items()}

    run_crash_test(f"sqlite:///{path}", count_rows, kills=20)


def test_sigkill_loses_no_acknowledged_batch_on_postgresql(postgres_url: str) -> None:
    run_crash_test(postgres_url, lambda: rows_per_batch(postgres_url), kills=10)
