"""The camera, end to end, with Chromium's fake camera playing a clip made from a smiling face.

With consent, frames are analysed in the worker and only window aggregates (``affect`` signals
of the shared schema) leave the page; revoking stops every track and every frame. Without
consent (refused, or a site that never asks) getUserMedia is never called and no camera file is
downloaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, expect

from rapport.demo_site.stack import DIST, Stack
from rapport.server.testing.camera import (
    WATCH_CAMERA,
    affect_signals,
    ask_for_camera,
    astronaut_rgb,
    check_no_image_left,
    launch_playing,
    wait_for,
    write_y4m,
)
from rapport.server.testing.recording import Recorder

pytestmark = pytest.mark.e2e

PRODUCT = "/product/echo-earbuds.html"


@pytest.fixture(scope="module")
def camera_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "astronaut.y4m", astronaut_rgb())
    browser = launch_playing(playwright, clip)
    yield browser
    browser.close()


@pytest.fixture
def cam_context(camera_browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    context = camera_browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(WATCH_CAMERA)
    yield context
    context.close()


@pytest.fixture
def cam_recorder(cam_context: BrowserContext) -> Recorder:
    recorder = Recorder()
    cam_context.on("request", lambda request: recorder.requests.append(request))
    return recorder


def camera_files() -> set[str]:
    manifest = json.loads((DIST / "manifest.json").read_text())
    return set(manifest["camera"]["files"].values()) - {manifest["camera"]["onnxruntime_web"]}


def sdk_fetched(recorder: Recorder, stack: Stack) -> set[str]:
    return {r.url.removeprefix(stack.api + "/sdk/") for r in recorder.to(stack.api, "/sdk/")}


def test_with_consent_only_window_aggregates_leave_and_revoking_stops_everything(
    stack: Stack, cam_context: BrowserContext, cam_recorder: Recorder
) -> None:
    ask_for_camera(cam_context)
    page = cam_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.shop + PRODUCT)

    dialog = page.get_by_role("dialog", name="Use your camera to adapt this page?")
    expect(dialog).to_be_visible(timeout=30_000)
    expect(dialog).to_contain_text("Video never leaves your device.")
    expect(dialog).to_contain_text("Refusing changes nothing else")
    allow = page.get_by_role("button", name="Allow camera")
    expect(allow).to_be_focused()  # focus moved into the prompt: keyboard users land on it
    assert page.evaluate("window.__gum") == 0, "no camera before the visitor says yes"
    after_consent = {n for n in camera_files() if not n.startswith("camera.")}
    assert not after_consent & sdk_fetched(cam_recorder, stack), "ORT and models wait for consent"
    page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    assert page.evaluate("localStorage.getItem('rapport:camera')") == "granted"
    expect(page.get_by_role("button", name="Turn off")).to_be_visible()

    def happy_windows() -> list[dict[str, Any]]:
        return [s for s in affect_signals(cam_recorder, stack) if s["dominant"] == "happy"]

    windows = wait_for(page, happy_windows, 60, "a happy-dominant affect window")
    assert page.evaluate("window.__gum") == 1
    for window in windows:
        assert window["presence"] >= 0.9 and window["happy"] >= 0.5 and window["valence"] > 0.3
    fetched = sdk_fetched(cam_recorder, stack)
    assert camera_files() <= fetched, camera_files() - fetched

    # Revoke: every track ends, no further frame is grabbed or analysed.
    page.evaluate("rapport.camera.stop()")
    expect(page.get_by_role("button", name="Turn off")).to_have_count(0)
    states = page.evaluate("window.__streams.flatMap(s => s.getTracks().map(t => t.readyState))")
    assert states and set(states) == {"ended"}
    assert page.evaluate("localStorage.getItem('rapport:camera')") == "denied"
    page.wait_for_timeout(500)
    grabbed = page.evaluate("window.__bitmaps")
    analysed = page.evaluate("rapport.camera.stats().frames")
    assert analysed >= 10
    page.wait_for_timeout(2_500)
    assert page.evaluate("window.__bitmaps") == grabbed
    assert page.evaluate("rapport.camera.stats().frames") == analysed
    assert page.evaluate("rapport.camera.state") == "off"

    check_no_image_left(cam_recorder, stack)
    assert errors == []

    # The refusal is remembered on this site: the next page does not ask, nor open the camera.
    page.reload()
    assert page.evaluate("rapport.ready") is True
    page.wait_for_timeout(1_000)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("window.__gum") == 0


def test_refusing_calls_no_camera_and_changes_nothing_else(
    stack: Stack, cam_context: BrowserContext, cam_recorder: Recorder
) -> None:
    ask_for_camera(cam_context)
    page = cam_context.new_page()
    page.goto(stack.shop + PRODUCT)
    no = page.get_by_role("button", name="No thanks")
    no.wait_for(timeout=30_000)
    page.keyboard.press("Tab")  # focus stays inside the prompt
    expect(no).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('rapport:camera')") == "denied"
    page.locator("#add-to-cart").click()
    page.wait_for_timeout(3_000)
    assert page.evaluate("window.__gum") == 0
    after_consent = {n for n in camera_files() if not n.startswith("camera.")}
    assert not after_consent & sdk_fetched(cam_recorder, stack)
    assert affect_signals(cam_recorder, stack) == []
    actions = [
        s["name"]
        for b in cam_recorder.collect_bodies(stack.api)
        for s in b["signals"]
        if s["kind"] == "action"
    ]
    assert "add_to_cart" in actions  # the same events path as before


def test_a_site_that_does_not_ask_never_touches_the_camera(
    stack: Stack, cam_context: BrowserContext, cam_recorder: Recorder
) -> None:
    page = cam_context.new_page()
    page.goto(stack.shop + PRODUCT)
    assert page.evaluate("rapport.ready") is True
    page.wait_for_timeout(3_000)
    assert page.evaluate("window.__gum") == 0
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert not camera_files() & sdk_fetched(cam_recorder, stack)


def test_global_privacy_control_means_no_camera_prompt_even_on_a_site_that_asks(
    stack: Stack, cam_context: BrowserContext, cam_recorder: Recorder
) -> None:
    ask_for_camera(cam_context)
    cam_context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    page = cam_context.new_page()
    page.goto(stack.shop + PRODUCT)
    assert page.evaluate("rapport.ready") is False
    assert page.evaluate("rapport.camera.ask()") is False  # the page's own button does nothing
    page.wait_for_timeout(1_000)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.evaluate("window.__gum") == 0
    assert not camera_files() & sdk_fetched(cam_recorder, stack)


def test_the_demo_page_asks_from_its_own_button(
    stack: Stack, cam_context: BrowserContext, cam_recorder: Recorder
) -> None:
    page = cam_context.new_page()
    page.goto(stack.shop + "/camera.html")
    assert page.evaluate("rapport.ready") is True
    assert page.evaluate("window.__gum") == 0
    page.locator("#camera-ask").click()
    page.get_by_role("button", name="Allow camera").click()
    wait_for(page, lambda: page.evaluate("rapport.camera.stats().frames") >= 3, 60, "frames")
    page.locator("#camera-stop").click()
    states = page.evaluate("window.__streams.flatMap(s => s.getTracks().map(t => t.readyState))")
    assert states and set(states) == {"ended"}
    check_no_image_left(cam_recorder, stack)
