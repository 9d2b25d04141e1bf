"""A real local HTTP endpoint that records webhook deliveries (and can fail the first ones)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
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


@contextmanager
def running_receiver(*, fail_first: int = 0) -> Iterator[Receiver]:
    """Answers 500 to the first ``fail_first`` deliveries, then 204; records every one."""
    state = Receiver(url="", fail_first=fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = 500 if len(state.seen) < state.fail_first else 204
            state.seen.append(Delivery(status, dict(self.headers), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
