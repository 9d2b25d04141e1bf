"""The persona simulator on the demo shop: the testing kit's generic journeys
(``server.testing``) at the demo's pages.

Each persona runs in its own browser context (own storage: a new visitor) with seeded timing and
paths. The verdict is the client's own: the last score it *sent* for each pattern, top-1 = the
highest, "neutral" when all are below ``NEUTRAL_BELOW``; each run also keeps the hints the server
answered (with the seconds since the journey began). Used by tests/e2e/test_personas.py,
bench/client_personas.py and demo_site/seed.py; the journeys themselves live in
server/testing/journeys.py and know no page of the demo.
"""

from __future__ import annotations

import random

from playwright.async_api import Browser, Page

from rapport.demo_site.personas import DEMO_PAGES, PERSONAS
from rapport.server.testing import journeys
from rapport.server.testing.drive import run_steps_async
from rapport.server.testing.runs import PersonaRun, Script, chromium, run_persona, simulate
from rapport.server.testing.runs import run_personas as _run_personas

__all__ = [
    "DEMO_PAGES",
    "PERSONAS",
    "PersonaRun",
    "Script",
    "chromium",
    "earlier_visit",
    "run_persona",
    "run_personas",
    "simulate",
]


async def run_personas(
    browser: Browser, shop: str, api: str, seeds: list[int], parallel: int = 6,
    scripts: dict[str, Script] = PERSONAS,
) -> list[PersonaRun]:  # fmt: skip
    """The demo's personas for every seed (``server.testing.runs.run_personas``)."""
    return await _run_personas(browser, shop, api, seeds, parallel, scripts)


async def _open(page: Page, url: str) -> None:
    await run_steps_async(page, journeys.open_page(url))


async def _read(page: Page, section: str, seconds: float, rng: random.Random) -> None:
    """Look at a section (by CSS selector, or a bare id) the way a reader does."""
    selector = section if section[0] in "#.[" else f"#{section}"
    await run_steps_async(page, journeys.read(selector, seconds, rng))


async def earlier_visit(page: Page, url: str, rng: random.Random) -> None:
    await run_steps_async(page, journeys.earlier_visit(url, rng))
