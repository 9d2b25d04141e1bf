"""The API behind a bad link, for the slow-link and stall tests: every request forwarded, the
first download of each file whose path matches ``held`` (a regular expression; by default each
``.wasm`` file) held back in one of these ways (``mode``):

* ``"delay"``: nothing for ``delay`` s, then the whole answer (a slow server);
* ``"stall"``: headers and a first chunk (64 KB, or half of a smaller file), then nothing until
  the proxy closes (a connection that hangs without an error);
* ``"hang"``: nothing at all, not even headers, until the proxy closes;
* ``"dribble"``: ``pieces`` chunks ``gap`` s apart (a slow link whose bytes keep coming);
* ``"corrupt"``: at once, but every byte after the 8-byte header inverted (a broken cache or
  proxy: the download completes, the WebAssembly does not compile).

``requests`` lists every path asked for, ``done`` the answers fully written, ``seconds`` how
long each held-back download took.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from rapport.demo_site.stack import free_port

__all__ = ["SlowLink", "slow_link"]

_DROPPED = ("connection", "transfer-encoding", "content-length")


class SlowLink:
    def __init__(
        self,
        api: str,
        *,
        mode: str,
        held: str = r"\.wasm$",
        delay: float = 0,
        pieces: int = 12,
        gap: float = 0.5,
    ) -> None:
        self.requests: list[str] = []
        self.done: list[str] = []
        self.seconds: list[float] = []
        self.closed = threading.Event()
        link = self
        pattern = re.compile(held)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def forward(self) -> None:
                link.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                held = bool(pattern.search(self.path)) and link.requests.count(self.path) == 1
                if held and mode == "hang":
                    link.closed.wait()
                    return
                # Corrupted plain bytes, so the WebAssembly arrives whole and fails to compile.
                skip = ("host", "connection") + (("accept-encoding",) if mode == "corrupt" else ())
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                request = urllib.request.Request(
                    api + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    answer = urllib.request.urlopen(request, timeout=60)
                except urllib.error.HTTPError as exc:
                    answer = exc
                data = answer.read()
                if held and mode == "corrupt":
                    data = data[:8] + bytes(255 - b for b in data[8:])
                started = time.monotonic()
                if held and mode == "delay":
                    link.closed.wait(delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        if name.lower() not in _DROPPED:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if held and mode == "stall":
                        self.wfile.write(data[: min(65_536, len(data) // 2)])
                        self.wfile.flush()
                        link.closed.wait()
                        return
                    size = len(data) // pieces + 1 if held and mode == "dribble" else len(data) or 1
                    for i in range(0, len(data), size):
                        self.wfile.write(data[i : i + size])
                        self.wfile.flush()
                        if size < len(data):
                            link.closed.wait(gap)
                    if held:
                        link.seconds.append(time.monotonic() - started)
                    link.done.append(self.path)
                except OSError:
                    pass  # the browser gave up on this download

            do_GET = do_POST = do_OPTIONS = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def slow_link(api: str, **kwargs: float | int | str) -> Iterator[SlowLink]:
    """A :class:`SlowLink` in front of ``api`` for the ``with`` block (``mode``, ``held`` and the
    knobs)."""
    link = SlowLink(api, **kwargs)  # type: ignore[arg-type]
    try:
        yield link
    finally:
        link.closed.set()
        link.server.shutdown()
        link.server.server_close()
