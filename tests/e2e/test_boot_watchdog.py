"""Issue 18 (loader: ``ready`` always settles) and issue 19 (slow links): the worker's stall
watchdog.

Python's WebAssembly comes through a proxy that either stops sending after its headers and a
first chunk (a connection that hangs without an error), or sends it in small pieces, slowly but
steadily, for longer than the stall bound. The bound is the site's ``stall_ms`` (60 s by
default), set low here so the test runs in seconds; the tests judge outcomes, never timings.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from rapport.demo_site.stack import Stack, free_port
from tests.e2e.owner_site import owner_site

pytestmark = pytest.mark.e2e

STALL_MS = 3_000
TAG = f"data-rapport-config='{{\"stall_ms\": {STALL_MS}}}'"


class _WasmProxy:
    """The API, with the first download of each ``.wasm`` file either stalled (headers and one
    chunk, then nothing until the proxy shuts down) or dribbled (``pieces`` chunks, ``gap`` s
    apart). ``seconds`` records how long each dribbled download took."""

    def __init__(self, api: str, *, mode: str, pieces: int = 12, gap: float = 0.5) -> None:
        self.requests: list[str] = []
        self.seconds: list[float] = []
        self.closed = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def forward(self) -> None:
                proxy.requests.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                skip = ("host", "connection")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                request = urllib.request.Request(
                    api + self.path, data=body, headers=headers, method=self.command
                )
                try:
                    answer = urllib.request.urlopen(request, timeout=60)
                except urllib.error.HTTPError as exc:
                    answer = exc
                data = answer.read()
                held = self.path.endswith(".wasm") and proxy.requests.count(self.path) == 1
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        if name.lower() not in (
                            "connection",
                            "transfer-encoding",
                            "content-length",
                        ):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if not held:
                        self.wfile.write(data)
                    elif mode == "stall":
                        self.wfile.write(data[:65_536])
                        self.wfile.flush()
                        proxy.closed.wait()
                    else:
                        started = time.monotonic()
                        size = len(data) // pieces + 1
                        for i in range(0, len(data), size):
                            self.wfile.write(data[i : i + size])
                            self.wfile.flush()
                            proxy.closed.wait(gap)
                        proxy.seconds.append(time.monotonic() - started)
                    self.wfile.flush()
                except OSError:
                    pass  # the browser gave up on this download

            do_GET = do_POST = do_OPTIONS = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def wasm_proxy(api: str, **kwargs: Any) -> Iterator[_WasmProxy]:
    proxy = _WasmProxy(api, **kwargs)
    try:
        yield proxy
    finally:
        proxy.closed.set()
        proxy.server.shutdown()
        proxy.server.server_close()


def ready_of(page: Page) -> Any:
    page.wait_for_function("() => window.__probe && window.__probe.ready !== null", timeout=90_000)
    return page.evaluate("() => window.__probe.ready")


def test_a_download_that_stalls_without_an_error_settles_ready_false_and_leaves_the_page_alone(
    stack: Stack, context: BrowserContext
) -> None:
    with (
        wasm_proxy(stack.api, mode="stall") as proxy,
        owner_site(stack, sdk=proxy.url + "/sdk", tag_attrs=TAG) as site,
    ):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.url + "/product.html")
        assert ready_of(page) is False
        assert [p for p in proxy.requests if p.endswith(".wasm")]  # it was the wasm that hung
        assert page.evaluate("() => rapport.track('x') === undefined")
        assert page.evaluate("() => rapport.hints()") == []
        page.locator("#buy").click()
        assert page.locator("#reassure").is_hidden()
        assert errors == []


def test_a_slow_download_that_keeps_moving_still_boots(
    stack: Stack, context: BrowserContext
) -> None:
    with (
        wasm_proxy(stack.api, mode="dribble") as proxy,
        owner_site(stack, sdk=proxy.url + "/sdk", tag_attrs=TAG) as site,
    ):
        page = context.new_page()
        page.goto(site.url + "/product.html")
        assert ready_of(page) is True
        # The premise: the wasm alone took longer than the stall bound to arrive.
        assert proxy.seconds and proxy.seconds[0] * 1000 > STALL_MS
