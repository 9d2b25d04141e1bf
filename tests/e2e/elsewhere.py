"""Persona journeys on a site that is NOT the demo shop: Fjellstad Outdoor (tests/e2e/elsewhere/).

Three pages with markup and wording of their own — ``help.html`` (order status at the top, a
chat dock fixed in the corner), ``lyngen-2.html`` (a product page with a long specs table and
reviews), ``tents.html`` (a listing of 6 cards, every price and fact list marked) — and journeys
at natural timings, each step stretched or shrunk at random by up to 30 %. Nothing here was
used to tune the patterns' weights: this is the generalisation check of issue 17.

A run passes when the persona's own hint came back from the server (``PersonaRun.first_hint``);
the ``passive`` visitor passes when it got no hint and the client's top-1 stayed neutral.
Only ``returning_with_problem`` has a previous session (:func:`earlier_visit`); every other
persona is a first-time visitor, so a ``returning_with_problem`` hint for them is a failure.
Used by tests/e2e/test_elsewhere.py (a subset) and bench/client_personas.py ``--site elsewhere``.
"""

from __future__ import annotations

import random
from pathlib import Path

from playwright.async_api import Page

from tests.e2e.personas import PersonaRun, Script, _open, _read, earlier_visit

__all__ = ["PAGES", "PERSONAS", "verdict"]

PAGES = Path(__file__).resolve().parent / "elsewhere"
CARDS = ("lyngen-2", "sarek-1", "rondane-3", "dovre-2", "hardanger-4", "jotun-ul")


def _natural(seconds: float, rng: random.Random) -> float:
    """A natural duration, ±30 %."""
    return seconds * rng.uniform(0.7, 1.3)


async def _ask(page: Page, field: str, text: str, rng: random.Random) -> None:
    """Type into a field and send it with Enter (the site's forms submit on Enter)."""
    await page.locator(field).click()
    await page.locator(field).press_sequentially(text, delay=rng.randint(15, 40))
    await page.wait_for_timeout(rng.randint(300, 900))
    await page.locator(field).press("Enter")


async def hesitant(page: Page, site: str, rng: random.Random) -> None:
    await _open(page, f"{site}/lyngen-2.html")
    await _read(page, ".buy", _natural(9, rng), rng)
    await _read(page, rng.choice(["#sendback", "#guarantee"]), _natural(9, rng), rng)
    await _read(page, ".buy", _natural(3, rng), rng)


async def urgent(page: Page, site: str, rng: random.Random) -> None:
    await _open(page, f"{site}/lyngen-2.html")
    await _read(page, "#shipping", _natural(7, rng), rng)
    question = rng.choice(
        [
            "I need it before Friday, asap, we leave on Saturday!",
            "Can you ship today? It's urgent, trip starts tomorrow",
            "Срочно нужна палатка к пятнице, успеете?",
        ]
    )
    await _ask(page, "#ask-text", question, rng)
    await _read(page, ".buy", _natural(1.5, rng), rng)
    await page.locator("#basket").click()
    await page.wait_for_timeout(rng.randint(1_000, 2_000))


async def researcher(page: Page, site: str, rng: random.Random) -> None:
    await _open(page, f"{site}/lyngen-2.html")
    await _read(page, "#spec", _natural(16.5, rng), rng)
    await page.evaluate(
        """() => { const cell = document.querySelector('#spec td'); const r = new Range();
        r.selectNodeContents(cell); getSelection().removeAllRanges(); getSelection().addRange(r);
        cell.dispatchEvent(new ClipboardEvent('copy', {bubbles: true})); }"""
    )
    await _read(page, "#opinions", _natural(11.75, rng), rng)
    question = rng.choice(
        [
            "What is the packed weight without the pegs?",
            "Is the fly silicone on both sides? What are the specs of the poles?",
            "Какой вес палатки и из чего дуги?",
        ]
    )
    await _ask(page, "#ask-text", question, rng)
    await page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    await page.wait_for_timeout(rng.randint(800, 1_500))


async def returning_with_problem(page: Page, site: str, rng: random.Random) -> None:
    await earlier_visit(page, f"{site}/tents.html", rng)
    medium = rng.choice(["email", "newsletter"])
    await _open(page, f"{site}/help.html?utm_medium={medium}&utm_source=crm")
    await _read(page, "#order", _natural(6, rng), rng)
    await page.locator("#order-code").fill(f"FJ-{rng.randint(10000, 99999)}")
    await page.locator("#order-code").press("Enter")
    await _read(page, "#reach", _natural(4, rng), rng)
    message = rng.choice(
        [
            "Where is my parcel? It still has not arrived",
            "My order hasn't arrived yet, where is it?",
            "Где мой заказ? Посылка так и не пришла",
        ]
    )
    await _ask(page, "#dock-input", message, rng)
    await _read(page, "#order", _natural(2.5, rng), rng)


async def irritated(page: Page, site: str, rng: random.Random) -> None:
    """A first-time visitor on the help page: the order status is in view the whole visit, the
    map does nothing when clicked, and the chat gets an angry "where is my order"."""
    await _open(page, f"{site}/help.html")
    box = await page.locator("#map").bounding_box()
    assert box is not None
    for _ in range(2):
        x = box["x"] + rng.uniform(40, box["width"] - 40)
        y = box["y"] + rng.uniform(30, box["height"] - 30)
        for _ in range(rng.randint(3, 5)):
            await page.mouse.click(x + rng.uniform(-8, 8), y + rng.uniform(-8, 8))
            await page.wait_for_timeout(rng.randint(80, 300))
        await page.wait_for_timeout(int(_natural(3_000, rng)))
    complaint = rng.choice(
        [
            "Nothing works on this page!!! Where is my order??",
            "This map is useless, WHERE IS MY PARCEL?!",
            "Ничего не работает!!! Где мой заказ??",
        ]
    )
    await _ask(page, "#dock-input", complaint, rng)
    await page.wait_for_timeout(int(_natural(3_000, rng)))


async def _rest_on(page: Page, selector: str, seconds: float, rng: random.Random) -> None:
    """Bring an element into view and rest the pointer on it, with small moves."""
    target = page.locator(selector)
    await target.scroll_into_view_if_needed()
    box = await target.bounding_box()
    assert box is not None
    end = seconds * 1000
    while end > 0:
        await page.mouse.move(
            box["x"] + box["width"] * rng.uniform(0.2, 0.8),
            box["y"] + box["height"] * rng.uniform(0.2, 0.8),
        )
        step = min(end, rng.uniform(300, 700))
        await page.wait_for_timeout(int(step))
        end -= step


async def comparison_shopper(page: Page, site: str, rng: random.Random) -> None:
    await _open(page, f"{site}/tents.html")
    picks = rng.sample(CARDS, 4)
    for sku in picks:
        part = rng.choice(["price", "specs"])
        await _rest_on(page, f'[data-rapport-section="{part}"][data-rapport-item="{sku}"]',
                       _natural(1.8, rng), rng)  # fmt: skip
    await page.locator("#card-lyngen-2 a").click()
    await page.wait_for_load_state()
    await page.evaluate("() => window.rapport.ready")
    await _read(page, ".buy", _natural(3, rng), rng)
    await page.go_back()
    await page.evaluate("() => window.rapport.ready")
    for sku in rng.sample(picks, 2):
        await _rest_on(page, f'[data-rapport-section="price"][data-rapport-item="{sku}"]',
                       _natural(1.5, rng), rng)  # fmt: skip


async def passive(page: Page, site: str, rng: random.Random) -> None:
    """Opens the listing and a product page and does nothing at all on either."""
    await _open(page, f"{site}/tents.html")
    await page.wait_for_timeout(int(_natural(8_000, rng)))
    await _open(page, f"{site}/lyngen-2.html")
    await page.wait_for_timeout(int(_natural(8_000, rng)))


PERSONAS: dict[str, Script] = {
    "hesitant": hesitant,
    "urgent": urgent,
    "researcher": researcher,
    "returning_with_problem": returning_with_problem,
    "irritated": irritated,
    "comparison_shopper": comparison_shopper,
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
