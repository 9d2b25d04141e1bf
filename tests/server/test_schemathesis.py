"""Property-based API test from the OpenAPI document (schemathesis): no 5xx anywhere.

Runs against a real ``rapport serve`` process (SQLite), with a registered site so that
generated requests can get past the site lookup, and an ``Origin`` of that site.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from rapport.server.storage import create_storage

ORIGIN = "https://fuzz.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'fuzz.db'}"

    async def add_site() -> None:
        async with create_storage(url) as storage:
            await storage.create_site("Fuzz", [ORIGIN], now=time.time())

    asyncio.run(add_site())
    sdk = tmp / "sdk"
    sdk.mkdir()
    (sdk / "rapport.js").write_text("// sdk\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rapport.server", "serve", "--port", str(port), "--database", url,
         "--sdk-dir", str(sdk), "--rate-per-ip", "0", "--rate-per-site", "0",
         "--no-access-log", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start: {process.communicate()[1]}")
        time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
        # Any unhandled exception is logged at ERROR with a traceback.
        assert "Traceback" not in errors, errors


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, built without a server (the one ``/schema`` serves)."""
    from rapport.server.app import create_app
    from rapport.server.config import Settings

    app = create_app(Settings(database_url="sqlite:///unused.db"))
    return dict(app.openapi_schema.to_schema())


SCHEMA = schemathesis.openapi.from_dict(_document())
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}


def test_the_document_lists_every_operation() -> None:
    assert {"POST /v1/collect", "DELETE /v1/visitors/{visitor}", "GET /metrics"} <= set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_server_errors(live_server: str, label: str, mode: GenerationMode) -> None:
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call(base_url=live_server, headers={"Origin": ORIGIN}, timeout=10)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)

    try:
        check()
    except Unsatisfiable:
        # Nothing invalid can be generated (no parameters or body to break): nothing to test.
        assert mode is GenerationMode.NEGATIVE
