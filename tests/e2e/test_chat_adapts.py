"""The demo chat follows the hints: the same question gets a one-sentence answer for a visitor
in a hurry and a detailed one for a researcher, and every hint can show its reasons."""

from __future__ import annotations

import asyncio
import os
import random
import re
from typing import Any

import pytest
from playwright.async_api import async_playwright

from rapport.demo_site.personas import PERSONAS
from rapport.demo_site.stack import CHROMIUM_FLAGS, Stack, chromium_executable

pytestmark = pytest.mark.e2e

QUESTION = "How long does delivery take?"


Asked = tuple[str, str, dict[str, Any], list[dict[str, Any]], str]


async def _ask_as(stack: Stack, persona: str) -> Asked:
    """Act as the persona, then ask the chat: the bot's answer, the chat's debug panel, the
    persona's hint, all hints on the page, and the page's hints panel."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            page = await context.new_page()
            await PERSONAS[persona](page, stack.shop, random.Random(7))
            await page.wait_for_function(
                f"() => rapport.hints().some(h => h.pattern === '{persona}' && h.chat)",
                timeout=30_000,
            )
            hint = await page.evaluate(
                f"() => rapport.hints().find(h => h.pattern === '{persona}')"
            )
            chat = page.locator(".rapport-chat")
            if "closed" in (await chat.get_attribute("class") or ""):
                await chat.locator("header").click()
            before = await chat.locator(".msg.bot").count()
            await chat.locator("input[name=q]").fill(QUESTION)
            await chat.locator("form button").click()
            await chat.locator(".msg.bot").nth(before).wait_for()
            answer = await chat.locator(".msg.bot").last.text_content() or ""
            debug = await chat.locator(".debug").text_content() or ""
            hints = await page.evaluate("() => rapport.hints()")
            panel = await page.locator("#rapport-hints").text_content() or ""
            return answer, debug, hint, hints, panel
        finally:
            await browser.close()


def _style(debug: str) -> tuple[str, str]:
    """(length, tone) of the hint the chat widget answered with, from its debug panel."""
    found = re.search(r"length: (\w+), tone: (\w+)", debug)
    assert found, debug
    return found.group(1), found.group(2)


def test_a_hurried_visitor_and_a_researcher_get_different_answers(stack: Stack) -> None:
    urgent, urgent_debug, urgent_hint, urgent_all, urgent_panel = asyncio.run(
        _ask_as(stack, "urgent")
    )
    research, research_debug, research_hint, research_all, research_panel = asyncio.run(
        _ask_as(stack, "researcher")
    )

    # Each persona's own hint asks for its style …
    assert urgent_hint["chat"]["length"] == "one_sentence"
    assert research_hint["chat"]["length"] == "detailed"
    # … and the chat answers in the style of the strongest hint it shows in its debug panel.
    urgent_style, research_style = _style(urgent_debug), _style(research_debug)
    assert urgent_style[0] != "detailed" and research_style[0] == "detailed"
    assert urgent_style[1] != research_style[1], (urgent_style, research_style)
    assert len(urgent) < len(research), (urgent, research)
    assert "\n" not in urgent.strip() and "\n" in research.strip()

    for debug in (urgent_debug, research_debug):
        assert "directive" in debug and "reasons:" in debug
    for hints, panel in ((urgent_all, urgent_panel), (research_all, research_panel)):
        for hint in hints:
            assert hint["reasons"], hint
            for reason in hint["reasons"]:
                assert reason in panel, (reason, panel)
