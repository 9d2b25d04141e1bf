"""A real local HTTP endpoint that records webhook deliveries (and can fail the first ones)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Delivery", "Receiver", "running_receiver"]


@dataclass(frozen=True)
class Delivery:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    fail_first: int = 0
    seen: list[Delivery] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    """Set when the first request has arrived."""
    release: threading.Event = field(default_factory=threading.Event)
    """With ``hold``, the answers wait for this."""
    trickled: int = 0
    """Body bytes sent so far by a ``trickle`` receiver."""


@contextmanager
def running_receiver(
    *, fail_first: int = 0, hold: bool = False, trickle: float = 0.0
) -> Iterator[Receiver]:
    """Answers 500 to the first ``fail_first`` deliveries, then 204; records every one.

    ``hold``: every answer waits until ``release`` is set. ``trickle``: answers 200 with a
    1000-byte body sent one byte every ``trickle`` seconds (a receiver that never times out
    a per-read deadline), until the client hangs up.
    """
    state = Receiver(url="", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = 500 if len(state.seen) < state.fail_first else 204
            if trickle:
                status = 200
            state.seen.append(Delivery(status, dict(self.headers), body))
            state.arrived.set()
            if hold:
                state.release.wait(30)
            self.send_response(status)
            self.send_header("Content-Length", "1000" if trickle else "0")
            self.end_headers()
            if trickle:
                self.close_connection = True
                try:
                    for _ in range(1000):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        state.trickled += 1
                        time.sleep(trickle)
                except OSError:
                    pass  # the client gave up: what a deadline does

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
