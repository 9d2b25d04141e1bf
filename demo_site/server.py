"""Serve the Northwind Audio demo shop from its own origin (standard library only).

Every page's ``<head>`` carries Rapport's one script tag with two placeholders::

    <script src="{{RAPPORT_SDK}}/rapport.js" data-site="{{SITE_KEY}}" async></script>

:func:`serve_demo` fills them in (HTML-escaped) for each ``.html`` response, or removes the tag
entirely with ``omit_sdk=True`` so benchmarks can compare the page with and without Rapport.

Only files in this folder with a known static extension are served: no directory listings, no
dot-files, no Python sources, nothing outside the folder. Run it by hand with::

    python -m demo_site.server --port 8001 --sdk-base http://127.0.0.1:8000 --site-key pk_...
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.server
import re
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, cast
from urllib.parse import unquote, urlsplit

__all__ = ["CONTENT_TYPES", "ROOT", "main", "render_html", "serve_demo"]

#: The folder whose files are served.
ROOT: Final = Path(__file__).resolve().parent

#: Served extensions and their content types; any other file is a 404.
CONTENT_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
}

_SDK_PLACEHOLDER: Final = "{{RAPPORT_SDK}}"
_KEY_PLACEHOLDER: Final = "{{SITE_KEY}}"
#: The Rapport script tag (with its line's indentation and newline), for ``omit_sdk``.
_SDK_TAG: Final = re.compile(
    r"[ \t]*<script\b[^>]*\{\{RAPPORT_SDK\}\}[^>]*>\s*</script>[ \t]*(?:\r?\n)?"
)
#: ``{{header}}`` / ``{{header:/faq.html}}`` (that nav link is the current page) / ``{{footer}}``:
#: the parts every page shares, kept once in ``partials/`` of the served folder.
_PARTIAL: Final = re.compile(r"\{\{(header|footer)(?::([^}\s]+))?\}\}")
#: ``{{product-buying sku="sku-nova-01" price="89" …}}``: a shared block with per-page values,
#: which fill its ``{{sku}}``, ``{{price}}``… (HTML-escaped). Every placeholder must be given.
_BLOCK: Final = re.compile(r'\{\{([a-z][a-z-]*)((?:\s+[a-z_]+="[^"]*")+)\}\}')
_BLOCK_ARG: Final = re.compile(r'([a-z_]+)="([^"]*)"')
_BLOCK_SLOT: Final = re.compile(r"\{\{([a-z_]+)\}\}")
PARTIALS_DIR: Final = ROOT / "partials"
#: One URL path segment: starts with a letter or digit (so no "..", no dot-files), no escapes.
_SEGMENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FALLBACK_404: Final = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title>"
    "<h1>Page not found</h1><p><a href=/>Back to the shop</a></p></html>"
)


def _expand_partials(text: str, partials: Path) -> str:
    def partial(match: re.Match[str]) -> str:
        name, current = match.group(1), match.group(2)
        part = (partials / f"{name}.html").read_text(encoding="utf-8").strip()
        if current:
            link = f'href="{html.escape(current, quote=True)}"'
            part = part.replace(link, f'{link} aria-current="page"', 1)
        return part

    def block(match: re.Match[str]) -> str:
        name = match.group(1)
        values = {k: html.escape(v, quote=True) for k, v in _BLOCK_ARG.findall(match.group(2))}
        part = (partials / f"{name}.html").read_text(encoding="utf-8").strip()
        missing = sorted(set(_BLOCK_SLOT.findall(part)) - set(values))
        if missing:
            raise ValueError(f"partial {name!r} needs {', '.join(missing)}")
        return _BLOCK_SLOT.sub(lambda m: values[m.group(1)], part)

    return _BLOCK.sub(block, _PARTIAL.sub(partial, text))


def render_html(
    text: str, sdk_base: str, site_key: str, *, omit_sdk: bool = False,
    partials: Path = PARTIALS_DIR,
) -> str:  # fmt: skip
    """Expand the shared header and footer (from ``partials``: the served folder's own), then
    fill in (or, with ``omit_sdk``, remove) the Rapport script tag of one page."""
    text = _expand_partials(text, partials)
    if omit_sdk:
        text = _SDK_TAG.sub("", text)
    return text.replace(_SDK_PLACEHOLDER, html.escape(sdk_base, quote=True)).replace(
        _KEY_PLACEHOLDER, html.escape(site_key, quote=True)
    )


def _check_sdk_base(sdk_base: str) -> str:
    """``http(s)://host[/path]`` or a root-relative path, without the trailing slash."""
    base = sdk_base.rstrip("/")
    if sdk_base.startswith("/") and not sdk_base.startswith("//"):
        return base
    parts = urlsplit(sdk_base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"sdk_base must be an http(s) URL or a path starting with '/': {sdk_base!r}"
        )
    return base


def _lookup(root: Path, request_target: str) -> Path | None:
    """The file a request path names, or None (missing, not allowed, or outside ``root``)."""
    raw_path = urlsplit(request_target).path
    if not raw_path.startswith("/"):
        return None
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return None
    segments = [segment for segment in path.split("/") if segment]
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return None
    if segments and segments[0] == "partials":
        return None  # pieces of pages, not pages
    candidate = root.joinpath(*segments)
    if candidate.is_dir():
        candidate = candidate / "index.html"  # never a listing
    if candidate.suffix not in CONTENT_TYPES or not candidate.is_file():
        return None
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root):  # e.g. a symlink pointing elsewhere
        return None
    return resolved


class _DemoServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that knows how to fill in the pages; ``shutdown`` also closes it."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        root: Path,
        sdk_base: str,
        site_key: str,
        omit_sdk: bool,
        page_headers: Mapping[str, str],
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.root = root
        self.sdk_base = sdk_base
        self.site_key = site_key
        self.omit_sdk = omit_sdk
        self.page_headers = dict(page_headers)
        super().__init__(address, _DemoHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def render(self, text: str) -> str:
        return render_html(text, self.sdk_base, self.site_key, omit_sdk=self.omit_sdk,
                           partials=self.root / "partials")  # fmt: skip

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exception(), ConnectionError | TimeoutError):
            return  # a browser closing a connection early is not worth a traceback
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        """Stop serving and close the listening socket."""
        super().shutdown()
        self.server_close()


class _DemoHandler(http.server.BaseHTTPRequestHandler):
    server_version = "NorthwindDemo/1.0"
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections don't hold a thread forever

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no line per request on stderr."""

    def _serve(self, *, head: bool) -> None:
        demo = cast(_DemoServer, self.server)
        target = _lookup(demo.root, self.path)
        if target is None:
            self._not_found(demo, head=head)
            return
        try:
            body = target.read_bytes()
        except OSError:
            self._not_found(demo, head=head)
            return
        headers = {"Content-Type": CONTENT_TYPES[target.suffix], "Cache-Control": "no-cache"}
        if target.suffix == ".html":
            body = demo.render(body.decode("utf-8")).encode("utf-8")
            headers.update(demo.page_headers)
        else:
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            headers["ETag"] = etag
            if etag in (self.headers.get("If-None-Match") or ""):
                self._send(304, headers, b"", head=True)
                return
        self._send(200, headers, body, head=head)

    def _not_found(self, demo: _DemoServer, *, head: bool) -> None:
        page = demo.root / "404.html"
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            text = _FALLBACK_404
        headers = {"Content-Type": CONTENT_TYPES[".html"], "Cache-Control": "no-cache"}
        self._send(404, headers, demo.render(text).encode("utf-8"), head=head)

    def _send(self, status: int, headers: dict[str, str], body: bytes, *, head: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("X-Content-Type-Options", "nosniff")
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def serve_demo(
    host: str,
    port: int,
    sdk_base: str,
    site_key: str,
    *,
    omit_sdk: bool = False,
    page_headers: Mapping[str, str] | None = None,
    root: Path = ROOT,
) -> http.server.ThreadingHTTPServer:
    """Serve the demo shop on ``host:port`` (port 0: any free port) in a daemon thread.

    ``sdk_base`` is where ``rapport.js`` lives (``http(s)://…`` or a root-relative path), and
    ``site_key`` the public key the tag carries; both are HTML-escaped into every page. With
    ``omit_sdk`` the script tag is left out. ``page_headers`` are added to every page, e.g. a
    strict ``Content-Security-Policy`` to see Rapport step aside on a locked-down site (a
    browser-side fake would make Chromium treat the page as public and block the loopback
    server). ``root`` serves another folder of pages the same way (test sites that are not
    the demo shop). The actual address is ``server.server_address``;
    call ``server.shutdown()`` to stop serving and close the socket.
    """
    server = _DemoServer(
        (host, port),
        root=root,
        sdk_base=_check_sdk_base(sdk_base),
        site_key=site_key,
        omit_sdk=omit_sdk,
        page_headers=page_headers or {},
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="demo-site", daemon=True
    )
    thread.start()
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo_site.server",
        description="Serve the Northwind Audio demo shop with Rapport's script tag.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="port (default: 8001)")
    parser.add_argument(
        "--sdk-base",
        default="http://127.0.0.1:8000",
        help="URL rapport.js is loaded from, without /rapport.js (default: http://127.0.0.1:8000)",
    )
    parser.add_argument("--site-key", help="public site key (pk_…) for data-site")
    parser.add_argument("--omit-sdk", action="store_true", help="serve the pages without Rapport")
    args = parser.parse_args(argv)
    if args.site_key is None and not args.omit_sdk:
        parser.error("--site-key is required (or pass --omit-sdk)")
    try:
        server = serve_demo(
            args.host, args.port, args.sdk_base, args.site_key or "", omit_sdk=args.omit_sdk
        )
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    shown_host = f"[{host!s}]" if ":" in str(host) else str(host)
    print(f"Northwind Audio demo shop: http://{shown_host}:{port}/", flush=True)
    if args.omit_sdk:
        print("Rapport script tag omitted.", flush=True)
    else:
        sdk = _check_sdk_base(args.sdk_base)
        print(f"Rapport: {sdk}/rapport.js with site key {args.site_key}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
