"""The demo chat hears what is meant (issue 16): a sarcastic complaint and an urgent message that
names only a deadline each change the chat's style, though the lexicon alone would miss both
(it reads the sarcasm as praise and finds no urgent word). Only tone scores leave the browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from rapport.client_py import schema
from rapport.client_py.tone import analyse_lexicon
from rapport.demo_site.stack import Stack
from rapport.server.testing.recording import Recorder
from tests.e2e.test_warm_start import SAVED, boot_marks

pytestmark = pytest.mark.e2e

PAGE = "/product/aria-headphones.html"
SARCASM = "Great, another week without my parcel. Just what I needed."
DEADLINE = "I need the headphones before my flight on Friday morning."


def _chat_style_after(page: Page, stack: Stack, message: str) -> tuple[str, str, str]:
    """(style before, style after, hint id after) of the chat's debug panel around one message."""
    page.goto(stack.shop + PAGE)
    page.wait_for_function("() => window.rapport && window.rapport.ready", timeout=30_000)
    chat = page.locator(".rapport-chat")
    if "closed" in (chat.get_attribute("class") or ""):
        chat.locator("header").click()
    debug = chat.locator(".debug")
    before = debug.text_content() or ""
    chat.locator("input[name=q]").fill(message)
    chat.locator("form button").click()
    page.wait_for_function(
        "() => rapport.hints().some(h => h.chat && h.id.startsWith('chat_'))", timeout=30_000
    )
    page.wait_for_function(
        "() => /hint: chat_/.test(document.querySelector('.rapport-chat .debug').textContent)",
        timeout=10_000,
    )
    after = debug.text_content() or ""
    found = re.search(r"hint: (\S+)", after)
    assert found, after
    return _style(before), _style(after), found.group(1)


def _style(debug: str) -> str:
    found = re.search(r"length: \w+, tone: \w+", debug)
    return found.group(0) if found else debug.strip()


def _vocabulary() -> set[str]:
    """The schema's own words (a visit's daypart "morning", a topic …): values the device may
    send whatever was typed, so a typed word equal to one of them proves nothing."""
    words: set[str] = set()
    for constant in vars(schema).values():
        if isinstance(constant, tuple):
            words.update(value for value in constant if isinstance(value, str))
    return words


def _nothing_typed_left(stack: Stack, recorder: Recorder, message: str) -> None:
    sent = " ".join(r.post_data or "" for r in recorder.to(stack.api, "/v1/collect"))
    assert sent, "no batch was sent"
    for value in _vocabulary():
        sent = sent.replace(f'"{value}"', '""')
    for word in re.findall(r"\w{5,}", message):
        assert word not in sent and word.lower() not in sent, word


def test_a_sarcastic_complaint_turns_the_chat_apologetic(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    lexicon = analyse_lexicon(SARCASM)
    assert "positive" in lexicon.labels and lexicon.scores["irritation"] < 0.6  # words alone
    before, after, hint = _chat_style_after(page, stack, SARCASM)
    assert hint.startswith("chat_irritation"), hint
    assert after != before and "apologetic" in after, (before, after)
    _nothing_typed_left(stack, recorder, SARCASM)
    assert recorder.page_errors == []


def test_a_deadline_alone_makes_the_chat_concise(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    assert analyse_lexicon(DEADLINE).scores["urgency"] < 0.6  # no urgent word in it
    before, after, hint = _chat_style_after(page, stack, DEADLINE)
    assert hint.startswith("chat_urgency"), hint
    assert after != before and "one_sentence" in after, (before, after)
    _nothing_typed_left(stack, recorder, DEADLINE)
    assert recorder.page_errors == []


def test_a_page_restored_from_the_snapshot_still_hears_the_sarcasm(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    """The learned model is imported on the first chat message, after the snapshot: on a
    restored page Python imports it from the wheel the worker wrote before Python started."""
    page.goto(stack.shop + "/")
    page.wait_for_function("() => window.rapport && window.rapport.ready", timeout=30_000)
    assert page.evaluate(SAVED), "the first page saved no snapshot"
    before, after, hint = _chat_style_after(page, stack, SARCASM)
    assert boot_marks(page)["snapshot"] == "restored"
    assert hint.startswith("chat_irritation"), hint
    assert after != before and "apologetic" in after, (before, after)
    assert recorder.page_errors == []
