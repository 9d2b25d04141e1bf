"""``bench.quiet_browser``, the browser the page-cost bench measures memory in, drives a page as
the bench needs: it loads it, evaluates in it, and its clicks are trusted (a consent prompt
ignores synthetic ones). Output only: the memory figures themselves are the bench's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.page_cost import pss_mb
from bench.quiet_browser import QuietChromium
from rapport.demo_site.stack import CHROMIUM_FLAGS
from rapport.server.testing.pages import static_pages

pytestmark = pytest.mark.slow

PAGE = """<!doctype html><title>quiet</title>
<button id="b" style="position:absolute;left:100px;top:100px;width:80px;height:40px">Go</button>
<script>
window.clicks = [];
document.getElementById('b').addEventListener('click', e => clicks.push(e.isTrusted));
</script>"""


@pytest.fixture
def site() -> Iterator[str]:
    with static_pages({"/": PAGE}) as origin:
        yield origin + "/"


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


def open_pipes() -> int:
    """This process's open pipe ends (the listing's own descriptor is gone when read)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
        except FileNotFoundError:
            continue
    return count


def test_closing_it_leaves_no_pipe_open(site: str, tmp_path: Path) -> None:
    before = open_pipes()
    with QuietChromium(CHROMIUM_FLAGS, tmp_path / "profile") as browser:
        browser.open(site)
    assert open_pipes() == before
