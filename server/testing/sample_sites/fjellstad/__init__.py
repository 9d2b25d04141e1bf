"""Fjellstad Outdoor: a site that is NOT the demo shop, and the personas' places on it.

Three pages with markup and wording of their own — ``help.html`` (order status at the top, a
chat dock fixed in the corner), ``lyngen-2.html`` (a product page with a long specs table and
reviews), ``tents.html`` (a listing of 6 cards, every price and fact list marked). The personas
are the kit's generic journeys (:mod:`server.testing.journeys`) at these pages, plus
``passive``: a visitor who opens the listing and a product page and does nothing. Nothing here
was used to tune the patterns' weights: this is the generalisation check of issue 17.

A run passes when the persona's own hint came back from the server (``PersonaRun.first_hint``);
the ``passive`` visitor passes when it got no hint and the client's top-1 stayed neutral.
Only ``returning_with_problem`` has a previous session; every other persona is a first-time
visitor, so a ``returning_with_problem`` hint for them is a failure. Used by
tests/e2e/test_elsewhere.py and bench/client_personas.py ``--site elsewhere``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Final

from playwright.async_api import Page

from rapport.server.testing.drive import run_steps_async
from rapport.server.testing.journeys import Journey, Step, open_page
from rapport.server.testing.runs import PersonaRun, Script, at

__all__ = ["FJELLSTAD_PAGES", "PAGES", "PERSONAS", "verdict"]

#: The folder of pages (served with ``{{RAPPORT_SDK}}`` and ``{{SITE_KEY}}`` filled in).
PAGES: Final = Path(__file__).resolve().parent

#: Where each persona goes: the product page for most, the help page for the visitor with a
#: problem and the irritated one, the listing for the comparison.
FJELLSTAD_PAGES: Final = {
    "hesitant": "/lyngen-2.html",
    "urgent": "/lyngen-2.html",
    "researcher": "/lyngen-2.html",
    "returning_with_problem": "/help.html",
    "irritated": "/help.html",
    "comparison_shopper": "/tents.html",
}


def _passive_steps(site: str, rng: random.Random) -> Journey:
    for path in ("/tents.html", "/lyngen-2.html"):
        yield from open_page(site.rstrip("/") + path)
        yield Step("wait", (int(8_000 * rng.uniform(0.7, 1.3)),))


async def passive(page: Page, site: str, rng: random.Random) -> None:
    """Opens the listing and a product page and does nothing at all on either."""
    await run_steps_async(page, _passive_steps(site, rng))


PERSONAS: Final[dict[str, Script]] = {
    **{name: at(path, name) for name, path in FJELLSTAD_PAGES.items()},
    "passive": passive,
}


def verdict(run: PersonaRun) -> bool:
    """The persona's own hint came back (the passive visitor: nothing, and neutral), and no
    first-time visitor got "came back with a problem"."""
    if run.errors:
        return False
    patterns = {h.get("pattern") for _, h in run.hints}
    if run.persona != "returning_with_problem" and "returning_with_problem" in patterns:
        return False
    if run.persona == "passive":
        return not run.hints and run.predicted == "neutral"
    return run.persona in patterns
