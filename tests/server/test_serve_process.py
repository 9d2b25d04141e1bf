"""``rapport serve`` as a real process: it serves, and SIGTERM shuts it down cleanly."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rapport.server.testing.server import free_port, rapport_cli, serve_process, wait_until_serving

ORIGIN = "http://localhost:8001"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """A running ``rapport serve`` on a free port, its base URL and a site key."""
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    added = rapport_cli(db, "site", "add", "Shop", "--origin", ORIGIN, "--json")
    site_key = json.loads(added)["site_key"]
    port = free_port()
    process = serve_process(
        db, port, "--sdk-dir", str(tmp_path / "no-sdk"), "--log-level", "info",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, process, timeout=20)
    try:
        yield process, base, site_key
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_served_api_stores_a_batch_and_shuts_down_gracefully(
    served: tuple[subprocess.Popen[str], str, str], tmp_path: Path
) -> None:
    process, base, site_key = served
    body = {
        "site": site_key,
        "key": "visitor-0002".ljust(43, "k"),  # a treated visitor (not in the holdout)
        "session": "session-0001",
        "batch": "batch-0001",
        "signals": [
            {"kind": "pattern", "name": "hesitant", "score": 0.9},
            # the default playbook needs two evidence features (docs/hints.md)
            {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3},
            {"kind": "evidence", "pattern": "hesitant", "feature": "revisits", "points": 0.3},
        ],
    }
    reply = httpx.post(
        f"{base}/v1/collect",
        content=json.dumps(body),
        headers={"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert reply.status_code == 200
    assert reply.json()["hints"][0]["kind"] == "reassure"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert "write queue drained" in output, output
    # uvicorn re-raises the signal once shut down, as service managers expect.
    assert process.returncode in (0, -signal.SIGTERM)
    with sqlite3.connect(tmp_path / "serve.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM signals").fetchone() == (3,)
