"""Every reply leaves in one write (``server/coalesced_writes.py``).

The transport's own behaviour is specified against a transport that records what reaches it;
the protocol is run on it as uvicorn runs it, and the last tests count the write system calls
of a real ``rapport serve`` process and fetch a large file from it."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from rapport.server.coalesced_writes import (
    FLUSH_AT,
    CoalescingHttpToolsProtocol,
    CoalescingTransport,
)
from rapport.server.testing.server import free_port, serve_process, wait_until_serving


class RecordingTransport(asyncio.Transport):
    """What the coalescing transport hands on: each ``write`` as one entry."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.events.append("write")

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def coalescing() -> tuple[CoalescingTransport, RecordingTransport]:
    real = RecordingTransport()
    return CoalescingTransport(real, asyncio.get_running_loop()), real


async def next_step() -> None:
    await asyncio.sleep(0)


@pytest.mark.anyio
async def test_writes_of_one_loop_step_reach_the_socket_as_one_write_after_the_step() -> None:
    transport, real = coalescing()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert real.writes == []
    await next_step()
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


@pytest.mark.anyio
async def test_writes_of_different_steps_stay_separate_and_in_order() -> None:
    transport, real = coalescing()
    transport.write(b"first")
    await next_step()
    transport.write(b"second")
    transport.write(b"third")
    await next_step()
    assert real.writes == [b"first", b"secondthird"]


@pytest.mark.anyio
async def test_close_hands_over_what_is_held_before_closing() -> None:
    transport, real = coalescing()
    transport.write(b"last reply")
    transport.close()
    assert real.events == ["write", "close"]
    assert real.writes == [b"last reply"]
    await next_step()
    assert real.writes == [b"last reply"]


@pytest.mark.anyio
async def test_abort_drops_what_is_held() -> None:
    transport, real = coalescing()
    transport.write(b"never sent")
    transport.abort()
    await next_step()
    assert real.events == ["abort"]


@pytest.mark.anyio
async def test_a_step_that_writes_past_the_limit_hands_it_over_at_once() -> None:
    transport, real = coalescing()
    chunk = b"x" * (FLUSH_AT // 2)
    transport.write(chunk)
    transport.write(chunk)
    assert real.writes == [chunk + chunk]
    assert transport.get_write_buffer_size() == 0


@pytest.mark.anyio
async def test_nothing_reaches_a_transport_that_is_already_closing() -> None:
    transport, real = coalescing()
    transport.write(b"too late")
    real.closing = True
    await next_step()
    assert real.writes == []


@pytest.mark.anyio
async def test_uvicorn_s_protocol_hands_a_reply_over_in_one_write_by_the_end_of_its_step() -> None:
    real = RecordingTransport()
    done = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})
        done.set()

    config = Config(app, http=CoalescingHttpToolsProtocol, lifespan="off", log_level="warning")
    protocol = CoalescingHttpToolsProtocol(config, ServerState(), {})
    protocol.connection_made(real)
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: example\r\n\r\n")
    await done.wait()
    await next_step()
    protocol.connection_lost(None)
    [reply] = real.writes
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b"\r\n\r\n{}")


#: A file of the SDK directory larger than what one loop step may hold (several MB, sent in
#: chunks that cross loop steps).
BIG_FILE = "pyodide.asm.wasm"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    sdk = tmp_path / "sdk"
    sdk.mkdir()
    (sdk / BIG_FILE).write_bytes(bytes(range(256)) * (3 * 4096 + 7))
    process = serve_process(
        f"sqlite:///{tmp_path / 'writes.db'}", port, "--sdk-dir", str(sdk),
        "--no-access-log", "--log-level", "warning",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, timeout=30)
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=60)


def write_calls(pid: int) -> int:
    """Write system calls the process has made (Linux ``/proc/PID/io``: ``syscw``)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError("no syscw in /proc/PID/io")


def test_the_server_answers_each_request_with_one_write(
    served: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base = served
    requests = 50
    with httpx.Client(base_url=base) as client:  # one keep-alive connection
        client.get("/no-such-page")
        before = write_calls(process.pid)
        replies = [client.get("/no-such-page") for _ in range(requests)]
        after = write_calls(process.pid)
    assert {reply.status_code for reply in replies} == {404}
    assert all(reply.json()["error"] == "Not Found" for reply in replies)
    # Headers and body written apart would be two per reply.
    assert requests <= after - before < requests * 1.2


def test_a_file_larger_than_one_step_holds_arrives_whole(
    served: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    _, base = served
    expected = (tmp_path / "sdk" / BIG_FILE).read_bytes()
    with httpx.Client(base_url=base) as client:
        for _ in range(2):  # and the connection stays usable after it
            reply = client.get(f"/sdk/{BIG_FILE}")
            assert reply.status_code == 200
            assert reply.content == expected
