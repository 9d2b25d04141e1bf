"""One script tag → Python in a Web Worker → server → hint → the page adapts.

A hesitant visitor dwells on the price and the returns policy of a product, types a question,
does not buy, and sees the reassurance box appear because a hint came back. Every request the
browser made is checked: only the SDK files and schema-shaped collect batches, nothing typed.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import BrowserContext, Page

from rapport.client_py.privacy import allowed_signal
from rapport.demo_site.server import serve_demo
from rapport.demo_site.stack import DIST, Stack
from rapport.server.testing.recording import Recorder

pytestmark = pytest.mark.e2e

PRODUCT = "/product/aria-headphones.html"
QUESTION = "Can I return it if my daughter Olga Petrova dislikes it?"


def dwell(page: Page, section: str, seconds: float) -> None:
    """Look at a section the way a reader does: in view, moving the pointer now and then."""
    page.locator(f"#{section}").scroll_into_view_if_needed()
    page.evaluate(f"document.getElementById('{section}').scrollIntoView({{block: 'center'}})")
    steps = int(seconds)
    for i in range(steps):
        page.mouse.move(300 + 10 * (i % 5), 300)
        page.wait_for_timeout(1000)


def rapport_ready(page: Page) -> bool:
    return bool(page.evaluate("() => window.rapport.ready"))


def test_a_hesitant_visitor_sees_the_reassurance_box_because_a_hint_came_back(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    page.goto(stack.shop + PRODUCT)
    page.evaluate(
        "() => { window.__hints = []; document.addEventListener('rapport:hint',"
        " e => window.__hints.push(e.detail.hints)); }"
    )
    box = page.locator("aside[data-rapport-show~='hesitant']")
    assert box.is_hidden()
    assert rapport_ready(page) is True

    page.locator("#question").fill(QUESTION)
    dwell(page, "price", 9)
    dwell(page, "returns", 9)
    dwell(page, "price", 2)

    box.wait_for(state="visible", timeout=20_000)
    hints = page.evaluate("() => window.__hints.at(-1)")
    assert [h["pattern"] for h in hints] == ["hesitant"]
    assert hints[0]["kind"] == "reassure" and hints[0]["reasons"]
    assert recorder.page_errors == []

    # The exact requests: the SDK files of the manifest, then collect batches — nothing else.
    # The camera add-on is not among them: this site does not ask for the camera.
    manifest = json.loads((DIST / "manifest.json").read_text())
    camera = set(manifest["camera"]["files"].values())
    addons = {a["file"] for a in manifest["addons"].values()}  # debug panel, visitor rights
    # The chat-tone weights neither: they come with the first chat message, and none was sent.
    tone = {manifest["entry"]["tone_model"]}
    sdk = {r.url.removeprefix(stack.api + "/sdk/") for r in recorder.to(stack.api, "/sdk/")}
    assert sdk == set(manifest["files"]) - {"manifest.json"} - camera - addons - tone
    others = [
        r.url
        for r in recorder.requests
        if not r.url.startswith((stack.shop + "/", stack.api + "/sdk/", stack.api + "/v1/collect"))
        and not r.url.startswith("blob:")
    ]
    assert others == []

    bodies = recorder.collect_bodies(stack.api)
    assert bodies, "no batch was sent"
    assert len({b["batch"] for b in bodies}) == len(bodies), "batch ids must be unique"
    for body in bodies:
        assert set(body) == {"site", "key", "session", "batch", "signals"}
        assert body["site"] == stack.site_key
        for signal in body["signals"]:
            assert allowed_signal(signal), signal
    patterns = [s for b in bodies for s in b["signals"] if s["kind"] == "pattern"]
    assert max(s["score"] for s in patterns) >= 0.6

    everything_sent = " ".join((r.url + " " + (r.post_data or "")) for r in recorder.requests)
    for word in ("Olga", "Petrova", "daughter", "return it"):
        assert word not in everything_sent


def test_buying_suppresses_the_reassurance(stack: Stack, page: Page, recorder: Recorder) -> None:
    page.goto(stack.shop + PRODUCT)
    assert rapport_ready(page) is True
    page.locator("#add-to-cart").click()
    dwell(page, "price", 9)
    dwell(page, "returns", 9)
    page.wait_for_timeout(3_000)
    assert page.locator("aside[data-rapport-show~='hesitant']").is_hidden()
    actions = [
        s["name"]
        for b in recorder.collect_bodies(stack.api)
        for s in b["signals"]
        if s["kind"] == "action"
    ]
    assert "add_to_cart" in actions


def test_global_privacy_control_means_nothing_is_collected(
    stack: Stack, context: BrowserContext, recorder: Recorder
) -> None:
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    page = context.new_page()
    page.goto(stack.shop + PRODUCT)
    assert rapport_ready(page) is False
    dwell(page, "price", 2)
    assert recorder.to(stack.api, "/v1/") == []
    assert [r for r in recorder.to(stack.api, "/sdk/") if "worker" in r.url] == []
    page.locator("#add-to-cart").click()  # the shop still works


def test_a_host_csp_that_forbids_the_worker_leaves_the_page_working(
    stack: Stack, context: BrowserContext, recorder: Recorder
) -> None:
    locked = serve_demo(
        "localhost",
        0,
        f"{stack.api}/sdk",
        stack.site_key,
        page_headers={"Content-Security-Policy": "worker-src 'none'"},
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://localhost:{locked.server_address[1]}{PRODUCT}")
        assert rapport_ready(page) is False
        page.locator("#add-to-cart").click()
        page.locator("#cart-confirmation").wait_for(state="visible")
        assert errors == []
        assert recorder.to(stack.api, "/v1/collect") == []
    finally:
        locked.shutdown()
