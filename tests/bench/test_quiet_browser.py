"""``bench.quiet_browser``, the browser the page-cost bench measures memory in, drives a page as
the bench needs: it loads it, evaluates in it, and its clicks are trusted (a consent prompt
ignores synthetic ones). Output only: the memory figures themselves are the bench's."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.page_cost import pss_mb
from bench.quiet_browser import QuietChromium
from rapport.demo_site.stack import CHROMIUM_FLAGS

pytestmark = pytest.mark.slow

PAGE = """<!doctype html><title>quiet</title>
<button id="b" style="position:absolute;left:100px;top:100px;width:80px;height:40px">Go</button>
<script>
window.clicks = [];
document.getElementById('b').addEventListener('click', e => clicks.push(e.isTrusted));
</script>"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text(PAGE)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def test_it_loads_the_page_and_evaluates_in_it(site: str, tmp_path: Path) -> None:
    with QuietChromium(CHROMIUM_FLAGS, tmp_path / "profile") as browser:
        browser.open(site)
        assert browser.evaluate("document.title") == "quiet"
        assert browser.evaluate("new Promise(r => setTimeout(r, 10, 42))") == 42
        assert pss_mb(browser.pid) > 0


def test_its_clicks_are_trusted(site: str, tmp_path: Path) -> None:
    with QuietChromium(CHROMIUM_FLAGS, tmp_path / "profile") as browser:
        browser.open(site)
        browser.mouse("mousePressed", 140, 120)
        browser.mouse("mouseReleased", 140, 120)
        assert browser.evaluate("clicks") == [True]


def test_an_init_script_runs_before_the_page(site: str, tmp_path: Path) -> None:
    with QuietChromium(CHROMIUM_FLAGS, tmp_path / "profile") as browser:
        browser.open(site, init_script="window.early = typeof window.clicks")
        assert browser.evaluate("early") == "undefined"


def test_a_failing_expression_says_what_failed(site: str, tmp_path: Path) -> None:
    with QuietChromium(CHROMIUM_FLAGS, tmp_path / "profile") as browser:
        browser.open(site)
        with pytest.raises(RuntimeError, match="no_such_name"):
            browser.evaluate("no_such_name.x")
