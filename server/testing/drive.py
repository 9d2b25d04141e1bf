"""Run a persona journey (``server.testing.journeys``) on a Playwright page, sync or async.

``play(page, "hesitant", url, seed=1)`` for pytest and pytest-playwright's sync ``page``;
``await play_async(page, …)`` for the async API (the persona runner, ``rapport personas``).
The two executors only translate steps into Playwright calls; what a persona does is written
once, in the journeys.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

from playwright.async_api import Page as AsyncPage
from playwright.sync_api import Page

from rapport.server.testing.journeys import JOURNEYS, MARKUP_SCRIPT, Journey, MissingMarkup, Step

__all__ = [
    "BOOT_SLOTS",
    "Played",
    "RapportNotReady",
    "journey_for",
    "play",
    "play_async",
    "run_steps_async",
]

_FIELD: Final = ":is(input[type=text], input:not([type])):not([data-rapport-chat]) >> visible=true"
_READY: Final = "() => window.rapport ? window.rapport.ready : null"
_HEARD: Final = (
    "() => !!window.rapport && window.rapport.holdout && window.rapport.holdout() !== null"
)


#: When set (by the persona runner), a page load and Rapport's boot on it wait for one of these
#: slots. Journeys spend most of their time in scripted dwell, so many can run at once; what a
#: 2-core machine cannot take is many Pyodide boots at once (six outwaited the loader).
BOOT_SLOTS: ContextVar[asyncio.Semaphore | None] = ContextVar("rapport_boot_slots", default=None)


@asynccontextmanager
async def _boot_slot() -> AsyncIterator[None]:
    slots = BOOT_SLOTS.get()
    if slots is None:
        yield
        return
    async with slots:
        yield


class RapportNotReady(Exception):
    """The page has no Rapport, or Rapport did not get ready (the message says which)."""


@dataclass
class Played:
    """What a journey did: the texts it typed (for ``assert_nothing_private``)."""

    persona: str
    seed: int
    typed: list[str] = field(default_factory=list)


def journey_for(persona: str, url: str, seed: int | random.Random) -> Journey:
    if persona not in JOURNEYS:
        known = ", ".join(JOURNEYS)
        raise ValueError(f"unknown persona {persona!r}: one of {known}")
    rng = seed if isinstance(seed, random.Random) else random.Random(f"{persona}:{seed}")
    return JOURNEYS[persona](url, rng)


def _not_ready(url: str, ready: object) -> RapportNotReady:
    if ready is None:
        return RapportNotReady(
            f"{url} has no Rapport: window.rapport is missing (add the script tag "
            "<script src=…/sdk/rapport.js data-site=pk_… async>)"
        )
    return RapportNotReady(
        f"Rapport did not get ready on {url} (rapport.ready is false: blocked by the CSP, an "
        "unknown site key or origin, GPC/DNT, or the boot timed out; `rapport check URL` says why)"
    )


def play(
    page: Page, persona: str, url: str | None = None, *, seed: int | random.Random = 0
) -> Played:
    """Drive ``persona`` on a sync Playwright page (``url``: where to start, else the page's
    current address). Raises :class:`MissingMarkup` / :class:`RapportNotReady` with the reason."""
    from rapport.server.testing.assertions import watch

    watch(page)
    played = Played(persona, seed if isinstance(seed, int) else -1)
    journey = journey_for(persona, url or page.url, seed)
    pages = [page]
    reply: Any = None
    try:
        while True:
            step = journey.send(reply)
            reply = _sync_step(pages, step, played)
    except StopIteration:
        return played


def _sync_step(pages: list[Page], step: Step, played: Played) -> Any:
    page = pages[-1]
    args = step.args
    match step.kind:
        case "goto":
            page.goto(args[0])
            ready = page.evaluate(_READY)
            if ready is not True:
                raise _not_ready(args[0], ready)
        case "markup":
            return page.evaluate(MARKUP_SCRIPT)
        case "eval":
            return page.evaluate(*args)
        case "move":
            page.mouse.move(*args)
        case "click":
            page.mouse.click(*args)
        case "wheel":
            page.mouse.wheel(0, args[0])
        case "wait":
            page.wait_for_timeout(args[0])
        case "type":
            selector, text, delay = args
            field_ = page.locator(selector).first
            field_.click()
            field_.press_sequentially(text, delay=delay)
            field_.press("Enter")
            played.typed.append(text)
        case "fill":
            page.locator(_FIELD).first.fill(args[0])
            played.typed.append(args[0])
        case "tab":
            if args[0] == "new":
                pages.append(page.context.new_page())
            else:
                pages.pop().close()
        case "heard":
            deadline = time.monotonic() + args[0] / 1000
            while not page.evaluate(_HEARD):
                if time.monotonic() > deadline:
                    raise RapportNotReady(f"the server never answered a batch from {page.url}")
                page.wait_for_timeout(250)
    return None


async def run_steps_async(page: AsyncPage, journey: Journey) -> Played:
    """Run any journey (``read``, ``rest_on``, ``earlier_visit`` of the journeys module, or a
    site's own generator of steps) on an async page."""
    played = Played("steps", -1)
    pages = [page]
    reply: Any = None
    try:
        while True:
            step = journey.send(reply)
            reply = await _async_step(pages, step, played)
    except StopIteration:
        return played


async def play_async(
    page: AsyncPage, persona: str, url: str | None = None, *, seed: int | random.Random = 0
) -> Played:
    """:func:`play` for an async Playwright page."""
    played = await run_steps_async(page, journey_for(persona, url or page.url, seed))
    played.persona, played.seed = persona, seed if isinstance(seed, int) else -1
    return played


async def _async_step(pages: list[AsyncPage], step: Step, played: Played) -> Any:
    page = pages[-1]
    args = step.args
    match step.kind:
        case "goto":
            async with _boot_slot():
                await page.goto(args[0])
                ready = await page.evaluate(_READY)
            if ready is not True:
                raise _not_ready(args[0], ready)
        case "markup":
            return await page.evaluate(MARKUP_SCRIPT)
        case "eval":
            return await page.evaluate(*args)
        case "move":
            await page.mouse.move(*args)
        case "click":
            await page.mouse.click(*args)
        case "wheel":
            await page.mouse.wheel(0, args[0])
        case "wait":
            await page.wait_for_timeout(args[0])
        case "type":
            selector, text, delay = args
            field_ = page.locator(selector).first
            await field_.click()
            await field_.press_sequentially(text, delay=delay)
            await field_.press("Enter")
            played.typed.append(text)
        case "fill":
            await page.locator(_FIELD).first.fill(args[0])
            played.typed.append(args[0])
        case "tab":
            if args[0] == "new":
                pages.append(await page.context.new_page())
            else:
                await pages.pop().close()
        case "heard":
            deadline = time.monotonic() + args[0] / 1000
            while not await page.evaluate(_HEARD):
                if time.monotonic() > deadline:
                    raise RapportNotReady(f"the server never answered a batch from {page.url}")
                await page.wait_for_timeout(250)
    return None


__all__ += ["MissingMarkup"]
