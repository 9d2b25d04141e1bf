"""``rapport serve --workers 2`` on PostgreSQL as real processes: both workers take
connections, a worker that dies is replaced, SIGTERM stops every one of them after draining
what they acknowledged, and workers do not outlive a killed supervisor."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from rapport.server.storage import create_storage
from rapport.server.testing.server import free_port, rapport_cli, serve_process, wait_until_serving

ORIGIN = "http://localhost:8001"
Served = tuple[subprocess.Popen[str], str, str]


def workers_of(pid: int) -> set[int]:
    """The worker processes of supervisor ``pid`` (Linux /proc; spawned interpreters)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    found = set()
    for child in (int(p) for p in text.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.add(child)
    return found


def alive(pid: int) -> bool:
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False


def wait_until(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def two_workers(postgres_url: str, tmp_path: Path) -> Iterator[Served]:
    added = rapport_cli(postgres_url, "site", "add", "Shop", "--origin", ORIGIN, "--json")
    port = free_port()
    process = serve_process(
        postgres_url, port, "--workers", "2", "--sdk-dir", str(tmp_path / "no-sdk"),
        "--log-level", "info", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, process, timeout=30, ready=lambda: len(workers_of(process.pid)) == 2)
    try:
        yield process, base, json.loads(added)["site_key"]
    finally:
        if process.poll() is None:
            process.kill()  # its workers follow it (PR_SET_PDEATHSIG)
            process.communicate(timeout=60)


def send_batches(base: str, site_key: str, count: int) -> list[str]:
    """``count`` batches over 16 connections; the ids of the acknowledged ones."""

    def send(n: int) -> str | None:
        batch_id = f"batch-{uuid.uuid4().hex[:12]}-{n}"
        key = f"visitor-{n % 7:04d}".ljust(43, "k")
        body = {"site": site_key, "key": key, "session": "session-0001",
                "batch": batch_id, "signals": [{"kind": "clicks", "count": 1}]}  # fmt: skip
        reply = httpx.post(f"{base}/v1/collect", json=body, headers={"Origin": ORIGIN}, timeout=10)
        return batch_id if reply.status_code == 200 else None

    with ThreadPoolExecutor(16) as pool:
        return [b for b in pool.map(send, range(count)) if b is not None]


async def stored_batches(url: str, site_key: str) -> int:
    async with create_storage(url) as storage:
        site = await storage.site_by_key(site_key)
        assert site is not None
        return (await storage.site_stats(site.id)).batches


def test_two_workers_serve_and_sigterm_stops_both_after_draining(
    two_workers: Served, postgres_url: str
) -> None:
    process, base, site_key = two_workers
    workers = workers_of(process.pid)
    assert len(send_batches(base, site_key, 200)) == 200
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert output.count("storage closed (write queue drained)") == 2, output
    assert not any(alive(pid) for pid in workers)
    assert asyncio.run(stored_batches(postgres_url, site_key)) == 200


def test_a_worker_that_dies_is_replaced(two_workers: Served) -> None:
    process, base, site_key = two_workers
    victim = min(workers_of(process.pid))
    os.kill(victim, signal.SIGKILL)
    assert wait_until(
        lambda: len(workers_of(process.pid)) == 2 and victim not in workers_of(process.pid)
    )
    assert wait_until(lambda: healthy(base))
    assert len(send_batches(base, site_key, 40)) == 40


def test_workers_stop_when_their_supervisor_is_killed(two_workers: Served) -> None:
    process, _, _ = two_workers
    workers = workers_of(process.pid)
    process.kill()
    process.communicate(timeout=60)
    assert wait_until(lambda: not any(alive(pid) for pid in workers))
