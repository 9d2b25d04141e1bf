"""A persona simulator: Playwright scripts that act as visitors of the demo shop.

Each persona is an async script with randomised timing and paths (``random.Random(seed)``), run
in its own browser context (own sessionStorage and visitor id) so several run in parallel pages.
The verdict is the client's own: the last score it *sent* for each pattern, top-1 = the highest,
"neutral" when all are below ``NEUTRAL_BELOW``; each run also keeps the hints the server answered
(with the seconds since the journey began). Used by tests/e2e/test_personas.py (one seeded run
per persona) and bench/client_personas.py (many seeds, accuracy and a confusion table); the
same runner drives other sites' journeys (tests/e2e/elsewhere.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Browser, Page, async_playwright

from client_py.patterns import NEUTRAL_BELOW, top_pattern
from client_py.privacy import allowed_signal
from demo_site.stack import CHROMIUM_FLAGS, chromium_executable

__all__ = ["PERSONAS", "PersonaRun", "chromium", "run_persona", "run_personas", "simulate"]

PRODUCTS = ("aria-headphones", "echo-earbuds", "nova-speaker")
Script = Callable[[Page, str, random.Random], Awaitable[None]]


@dataclass
class PersonaRun:
    persona: str
    seed: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: (seconds since the journey began, hint) for every hint in the server's answers
    hints: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def first_hint(self, pattern: str) -> float | None:
        """Seconds from the journey's start to the first hint for ``pattern``, or None."""
        return min((t for t, h in self.hints if h.get("pattern") == pattern), default=None)

    @property
    def scores(self) -> dict[str, float]:
        """The last score the client sent for each pattern."""
        last: dict[str, float] = {}
        for body in self.bodies:
            for signal in body.get("signals", []):
                if signal.get("kind") == "pattern":
                    last[signal["name"]] = float(signal["score"])
        return last

    @property
    def predicted(self) -> str:
        return top_pattern(self.scores, NEUTRAL_BELOW)

    @property
    def schema_clean(self) -> bool:
        return all(allowed_signal(s) for b in self.bodies for s in b.get("signals", []))


async def _open(page: Page, url: str) -> None:
    await page.goto(url)
    if not await page.evaluate("() => window.rapport.ready"):
        raise RuntimeError(f"Rapport did not get ready on {url} (boot timeout?)")


async def _leave(page: Page) -> None:
    """Let the loader post its last events and the worker save the state before navigating."""
    await page.wait_for_timeout(1_200)


async def _read(page: Page, section: str, seconds: float, rng: random.Random) -> None:
    """Look at a section (its id, or a CSS selector) the way a reader does: in view, moving the
    pointer now and then."""
    selector = section if section[0] in "#.[" else f"#{section}"
    await page.evaluate(
        "s => document.querySelector(s).scrollIntoView({block: 'center'})", selector
    )
    end = asyncio.get_running_loop().time() + seconds
    while (left := end - asyncio.get_running_loop().time()) > 0:
        await page.mouse.move(rng.uniform(200, 1000), rng.uniform(150, 600))
        await page.wait_for_timeout(int(1000 * min(left, rng.uniform(0.6, 1.3))))


async def _chat(page: Page, field_id: str, text: str, rng: random.Random) -> None:
    await page.locator(f"#{field_id}").fill(text)
    await page.wait_for_timeout(rng.randint(300, 900))
    await page.locator(f"#{field_id}").press("Enter") if field_id == "chat-input" else None
    form = "#question-form" if field_id == "question" else "#chat-form"
    await page.locator(f"{form} button[type=submit]").click()


async def hesitant(page: Page, shop: str, rng: random.Random) -> None:
    await _open(page, f"{shop}/product/{rng.choice(PRODUCTS)}.html")
    await _read(page, "price", rng.uniform(8, 10), rng)
    await _read(page, rng.choice(["returns", "warranty"]), rng.uniform(8, 10), rng)
    await _read(page, "price", rng.uniform(2, 4), rng)


async def urgent(page: Page, shop: str, rng: random.Random) -> None:
    await _open(page, f"{shop}/product/{rng.choice(PRODUCTS)}.html")
    await _read(page, "delivery", rng.uniform(6, 8), rng)
    question = rng.choice(
        [
            "I need it by tomorrow, asap! Is express possible?",
            "Срочно нужна доставка на завтра!",
            "Can you ship it today? It's urgent",
            "Нужно как можно скорее, успеете к пятнице?",
        ]
    )
    await page.locator("#reviews").scroll_into_view_if_needed()
    await _chat(page, "question", question, rng)
    await _read(page, "price", rng.uniform(1, 2), rng)
    await page.locator("#add-to-cart").click()
    await page.wait_for_timeout(rng.randint(1_000, 2_000))


async def researcher(page: Page, shop: str, rng: random.Random) -> None:
    await _open(page, f"{shop}/product/{rng.choice(PRODUCTS)}.html")
    await _read(page, "specs", rng.uniform(14, 17), rng)
    await page.evaluate(
        """() => { const cell = document.querySelector('#specs td'); const r = new Range();
        r.selectNodeContents(cell); getSelection().removeAllRanges(); getSelection().addRange(r);
        cell.dispatchEvent(new ClipboardEvent('copy', {bubbles: true})); }"""
    )
    await _read(page, "reviews", rng.uniform(10, 13), rng)
    question = rng.choice(
        [
            "What is the battery life with noise cancelling on?",
            "Какая ёмкость аккумулятора и вес?",
            "Is it compatible with bluetooth 5.0 laptops?",
        ]
    )
    await _chat(page, "question", question, rng)
    await page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    await page.wait_for_timeout(rng.randint(800, 1_500))


async def earlier_visit(page: Page, url: str, rng: random.Random) -> None:
    """A previous session of this visitor: another tab of the same browser (its own
    sessionStorage, the same first-party visitor id) that browses until the server has heard
    from it, then closes."""
    earlier = await page.context.new_page()
    try:
        async with earlier.expect_response(lambda r: "/v1/collect" in r.url, timeout=90_000):
            await _open(earlier, url)
            for _ in range(rng.randint(2, 4)):
                await earlier.mouse.move(rng.uniform(200, 1000), rng.uniform(150, 600))
                await earlier.mouse.wheel(0, rng.randint(150, 400))
                await earlier.wait_for_timeout(rng.randint(500, 1_000))
    finally:
        await earlier.close()


async def returning_with_problem(page: Page, shop: str, rng: random.Random) -> None:
    await earlier_visit(page, f"{shop}/", rng)
    medium = rng.choice(["email", "newsletter"])
    await _open(page, f"{shop}/order-status.html?utm_medium={medium}&utm_source=crm")
    await _read(page, "order-status", rng.uniform(5, 7), rng)
    await page.locator("#order-number").fill("NW-" + str(rng.randint(10000, 99999)))
    await _read(page, "contacts", rng.uniform(3, 5), rng)
    message = rng.choice(
        [
            "Where is my order? It has not arrived yet",
            "Где мой заказ? Не пришёл до сих пор",
            "I want to return the headphones, how do I get a refund?",
            "Заказ не пришёл, хочу оформить возврат",
        ]
    )
    await _chat(page, "chat-input", message, rng)
    await _read(page, "order-status", rng.uniform(2, 3), rng)


async def irritated(page: Page, shop: str, rng: random.Random) -> None:
    await _open(page, f"{shop}/product/{rng.choice(PRODUCTS)}.html")
    image = page.locator(".product-hero img")
    box = await image.bounding_box()
    assert box is not None
    for _ in range(2):
        x, y = box["x"] + rng.uniform(40, box["width"] - 40), box["y"] + rng.uniform(40, 200)
        for _ in range(rng.randint(3, 5)):
            await page.mouse.click(x + rng.uniform(-8, 8), y + rng.uniform(-8, 8))
            await page.wait_for_timeout(rng.randint(80, 300))
        await page.wait_for_timeout(rng.randint(2_800, 3_500))
    complaint = rng.choice(
        [
            "This is ridiculous, nothing works on this page!!!",
            "Ничего не работает, это просто безобразие!!!",
            "WHY DOES NOTHING HAPPEN?? Terrible site",
        ]
    )
    await page.locator("#reviews").scroll_into_view_if_needed()
    await _chat(page, "question", complaint, rng)
    await page.wait_for_timeout(rng.randint(2_800, 3_500))


async def neutral(page: Page, shop: str, rng: random.Random) -> None:
    await _open(page, f"{shop}/")
    for _ in range(rng.randint(2, 3)):
        await page.mouse.wheel(0, rng.randint(200, 500))
        await page.wait_for_timeout(rng.randint(600, 1_200))
    await _leave(page)
    await _open(page, f"{shop}/product/{rng.choice(PRODUCTS)}.html")
    await _read(page, "specs", rng.uniform(3, 5), rng)
    await _read(page, rng.choice(["price", "reviews", "delivery"]), rng.uniform(2, 3), rng)


PERSONAS: dict[str, Script] = {
    "hesitant": hesitant,
    "urgent": urgent,
    "researcher": researcher,
    "returning_with_problem": returning_with_problem,
    "irritated": irritated,
    "neutral": neutral,
}


async def run_persona(
    browser: Browser,
    shop: str,
    api: str,
    persona: str,
    seed: int,
    scripts: dict[str, Script] = PERSONAS,
) -> PersonaRun:
    run = PersonaRun(persona, seed)
    rng = random.Random(f"{persona}:{seed}")
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    started = time.monotonic()
    answers: list[tuple[float, Any]] = []

    def on_request(request: Any) -> None:
        if request.url.startswith(api + "/v1/collect") and request.method == "POST":
            run.bodies.append(json.loads(request.post_data or "{}"))

    def on_response(response: Any) -> None:
        if response.url.startswith(api + "/v1/collect") and response.status == 200:
            answers.append((time.monotonic() - started, response))

    context.on("request", on_request)
    context.on("response", on_response)
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: run.errors.append(str(error)))
        try:
            await scripts[persona](page, shop, rng)
        except Exception as error:  # the run fails with its reason; the others go on
            run.errors.append(f"journey: {type(error).__name__}: {error}")
        await page.wait_for_timeout(3_500)  # the last changes go out (flush every 2 s)
        for at, response in answers:
            try:
                body = await response.json()
            except Exception:  # a body gone with its page says nothing
                continue
            run.hints.extend((round(at, 1), h) for h in body.get("hints") or [])
    finally:
        await context.close()
    return run


async def run_personas(
    browser: Browser,
    shop: str,
    api: str,
    seeds: list[int],
    parallel: int = 6,
    scripts: dict[str, Script] = PERSONAS,
) -> list[PersonaRun]:
    """Every persona of ``scripts`` for every seed, ``parallel`` at a time."""
    limit = asyncio.Semaphore(parallel)

    async def one(persona: str, seed: int) -> PersonaRun:
        async with limit:
            return await run_persona(browser, shop, api, persona, seed, scripts)

    jobs = [one(persona, seed) for seed in seeds for persona in scripts]
    return list(await asyncio.gather(*jobs))


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium as the e2e tests and benches launch it (``RAPPORT_CHROMIUM`` wins)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            yield browser
        finally:
            await browser.close()


async def simulate(
    shop: str,
    api: str,
    seeds: list[int],
    parallel: int = 6,
    scripts: dict[str, Script] = PERSONAS,
) -> list[PersonaRun]:
    """:func:`run_personas` in a browser of its own."""
    async with chromium() as browser:
        return await run_personas(browser, shop, api, seeds, parallel, scripts)
