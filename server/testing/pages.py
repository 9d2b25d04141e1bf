"""Serve a few pages on their own ``localhost`` origin, for tests that need a page to adapt.

``with static_pages({"/": html, "/help.html": html2}) as origin:`` — the text of each page has
``{{RAPPORT}}`` replaced by the script tag the caller gives (``RapportServer.tag(site)``), so
the origin can be registered before the pages are written out. Any other path is a 404.

:func:`serve_origin` is the server underneath, for sites that answer more than fixed pages
(other content types, response headers such as a strict CSP): tests/e2e/owner_site.py.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from rapport.server.testing.server import free_port

__all__ = ["Reply", "serve_origin", "static_pages"]


@dataclass(frozen=True)
class Reply:
    """What the origin answers for one path (always ``Cache-Control: no-store``)."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@contextmanager
def serve_origin(respond: Callable[[str], Reply | None], *, port: int = 0) -> Iterator[str]:
    """Serve ``respond(path)`` (the path without its query; None is a 404) at
    ``http://localhost:PORT`` on a thread of its own; yields that origin. ``/favicon.ico``,
    when ``respond`` has none, is an empty 204: no 404 line in the browser's console."""
    port = port or free_port()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            reply = respond(path)
            if reply is None:
                self.send_response(404 if path != "/favicon.ico" else 204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def static_pages(pages: Mapping[str, str], tag: str = "", *, port: int = 0) -> Iterator[str]:
    """Serve ``pages`` (path → HTML) at ``http://localhost:PORT``; yields that origin."""
    served = {
        path: Reply(text.replace("{{RAPPORT}}", tag).encode()) for path, text in pages.items()
    }
    with serve_origin(served.get, port=port) as origin:
        yield origin
