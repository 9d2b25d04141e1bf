"""Serve a few HTML pages on their own ``localhost`` origin, for tests that need a page to adapt.

``with static_pages({"/": html, "/help.html": html2}) as origin:`` — the text of each page has
``{{RAPPORT}}`` replaced by the script tag the caller gives (``RapportServer.tag(site)``), so
the origin can be registered before the pages are written out. Any other path is a 404.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rapport.server.testing.server import free_port

__all__ = ["static_pages"]


@contextmanager
def static_pages(pages: Mapping[str, str], tag: str = "", *, port: int = 0) -> Iterator[str]:
    """Serve ``pages`` (path → HTML) at ``http://localhost:PORT``; yields that origin."""
    port = port or free_port()
    served = {path: text.replace("{{RAPPORT}}", tag).encode() for path, text in pages.items()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            body = served.get(self.path.split("?")[0])
            if body is None:
                self.send_response(404 if self.path != "/favicon.ico" else 204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

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
