"""Issue 18 (loader: ``ready`` always settles) and issue 19 (slow links): the worker's stall
watchdog, and the loader's clock on the worker script itself.

Python's WebAssembly comes through a proxy (``slow_link.py``) that either stops sending after
its headers and a first chunk (a connection that hangs without an error), or sends it in small
pieces, slowly but steadily, for longer than the stall bound. The worker script can hang the same
way, or answer nothing at all: then no worker runs to judge anything, and the loader gives up on
it. The bound is the site's ``stall_ms`` (60 s by default), set low here so the test runs in
seconds; the tests judge outcomes, never timings.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from rapport.demo_site.stack import Stack
from tests.e2e.owner_site import owner_site
from tests.e2e.slow_link import SlowLink, slow_link

pytestmark = pytest.mark.e2e

STALL_MS = 3_000
TAG = f"data-rapport-config='{{\"stall_ms\": {STALL_MS}}}'"
WORKER = r"/worker\.[0-9a-f]+\.mjs$"  # the worker script's hashed name under /sdk/


def visit(
    stack: Stack, context: BrowserContext, mode: str, held: str = r"\.wasm$"
) -> tuple[Page, SlowLink, Any, list[str]]:
    """The product page with the files matching ``held`` (the wasm) behind a ``mode`` link: page,
    link, ready, page errors. The owner's own button is clicked once ready settled."""
    errors: list[str] = []
    with (
        slow_link(stack.api, mode=mode, held=held) as link,
        owner_site(stack, sdk=link.url + "/sdk", tag_attrs=TAG) as site,
    ):
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(site.url + "/product.html")
        page.wait_for_function(
            "() => window.__probe && window.__probe.ready !== null", timeout=90_000
        )
        ready = page.evaluate("() => window.__probe.ready")
        page.evaluate(
            "() => document.getElementById('buy')"
            ".addEventListener('click', () => { window.__bought = true; })"
        )
        page.locator("#buy").click()
    return page, link, ready, errors


def test_a_download_that_stalls_without_an_error_settles_ready_false_and_leaves_the_page_alone(
    stack: Stack, context: BrowserContext
) -> None:
    page, link, ready, errors = visit(stack, context, "stall")
    assert ready is False
    assert [p for p in link.requests if p.endswith(".wasm")]  # it was the wasm that hung
    assert page.evaluate("() => rapport.track('x') === undefined")
    assert page.evaluate("() => rapport.hints()") == []
    assert page.locator("#reassure").is_hidden()
    assert errors == []


def test_a_slow_download_that_keeps_moving_still_boots(
    stack: Stack, context: BrowserContext
) -> None:
    _, link, ready, errors = visit(stack, context, "dribble")
    assert ready is True
    # The premise: the wasm alone took longer than the stall bound to arrive.
    assert link.seconds and link.seconds[0] * 1000 > STALL_MS
    assert errors == []


def test_a_wasm_that_does_not_compile_settles_ready_false(
    stack: Stack, context: BrowserContext
) -> None:
    """Pyodide only logs a failed instantiation and waits forever, with no download pending for
    the watchdog to judge: the worker turns the failure into ``ready`` false."""
    _, link, ready, errors = visit(stack, context, "corrupt")
    assert ready is False
    assert [p for p in link.requests if p.endswith(".wasm")]
    assert errors == []


@pytest.mark.parametrize("mode", ["stall", "hang"])
def test_a_worker_script_that_stalls_settles_ready_false_and_leaves_the_page_alone(
    stack: Stack, context: BrowserContext, mode: str
) -> None:
    """The worker script's request hangs without an error (headers and half the file, then
    nothing; or nothing at all): no worker runs, so no worker watchdog judges anything. The loader
    does: a worker that has not said it runs within ``stall_ms`` is ended, ``ready`` false."""
    page, link, ready, errors = visit(stack, context, mode, held=WORKER)
    assert ready is False
    assert [p for p in link.requests if re.search(WORKER, p)]  # it was the worker that hung
    assert not [p for p in link.requests if p.endswith(".wasm")]  # and no worker ever ran
    assert page.evaluate("() => window.__bought") is True  # the page's own button still works
    assert page.evaluate("() => rapport.track('x') === undefined")
    assert page.evaluate("() => rapport.hints()") == []
    assert page.locator("#reassure").is_hidden()
    assert errors == []
