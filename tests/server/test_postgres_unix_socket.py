"""PostgreSQL on the same host, reached through its Unix socket.

A URL without a host name and with ``?host=/socket/directory`` is how libpq's own clients
reach a local server. These tests run ``rapport serve`` with two workers on such a URL, and
check what it logs of it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rapport.server.storage import create_storage, parse_database_url
from rapport.server.testing.server import free_port, rapport_cli, serve_process, wait_until_serving
from tests.server.pg_cluster import PgCluster, throwaway_cluster

ORIGIN = "http://localhost:8001"


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[PgCluster]:
    with throwaway_cluster() as cluster:
        yield cluster


def test_a_socket_url_names_the_socket_directory_when_redacted(
    local_cluster: PgCluster,
) -> None:
    redacted = parse_database_url(local_cluster.socket_url).redacted()
    assert redacted == (
        f"postgresql://postgres@/postgres?host={local_cluster.base}&port={local_cluster.port}"
    )


def test_two_workers_store_every_acknowledged_batch_through_the_socket(
    local_cluster: PgCluster, tmp_path: Path
) -> None:
    url = local_cluster.socket_url
    added = json.loads(rapport_cli(url, "site", "add", "Shop", "--origin", ORIGIN, "--json"))
    port = free_port()
    process = serve_process(
        url, port, "--workers", "2", "--sdk-dir", str(tmp_path / "no-sdk"), "--log-level", "info",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, timeout=30)
        batch_ids = [f"socket-{uuid.uuid4().hex[:12]}" for _ in range(20)]
        for batch_id in batch_ids:
            body = {"site": added["site_key"], "key": "visitor-0001".ljust(43, "k"),
                    "session": "session-0001", "batch": batch_id,
                    "signals": [{"kind": "clicks", "count": 2}]}  # fmt: skip
            reply = httpx.post(f"{base}/v1/collect", json=body, headers={"Origin": ORIGIN})
            assert reply.status_code == 200, reply.text
            assert reply.json()["accepted"] == 1
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert f"postgresql://postgres@/postgres?host={local_cluster.base}" in output, output

    async def stored() -> int:
        async with create_storage(url) as storage:
            site = await storage.site_by_key(added["site_key"])
            assert site is not None
            return (await storage.site_stats(site.id)).signals

    assert asyncio.run(stored()) == 20
