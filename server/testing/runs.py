"""The persona runner: each persona in its own browser context, many seeds, some in parallel.

A run records every request (for the privacy check), the batches sent to ``/v1/collect`` (the
client's own verdict: the last score it sent per pattern, top-1 or "neutral"), the hints the
server answered with the seconds since the journey began, the boxes that became visible and the
host page's long tasks. Used by the kit's tests, ``rapport personas URL``, tests/e2e and the
benches.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from playwright.async_api import Browser, Page, Request, Response, async_playwright

from rapport.client_py.patterns import NEUTRAL_BELOW
from rapport.client_py.privacy import allowed_signal
from rapport.server.testing.browser import launch_options
from rapport.server.testing.drive import BOOT_SLOTS, Played, play_async
from rapport.server.testing.journeys import JOURNEYS
from rapport.server.testing.privacy import SentRequest, private_findings

__all__ = [
    "PersonaRun",
    "Script",
    "at",
    "chromium",
    "run_persona",
    "run_personas",
    "simulate",
    "top_pattern",
]

#: A journey as the runner calls it: (page, base URL, rng); it may return what it ``Played``.
Script = Callable[[Page, str, random.Random], Awaitable[object]]

#: Installed in every page: the boxes that became visible and the long tasks, kept in
#: sessionStorage so they survive same-origin navigations of the journey.
WATCH_PAGE: Final = """(() => {
  let store; try { store = window.sessionStorage; } catch (e) { return; }  // a frame without it
  const k = 'rapport-kit';
  const load = () => JSON.parse(store.getItem(k) || '{"long":[],"shown":[]}');
  const save = (s) => store.setItem(k, JSON.stringify(s));
  const quiet = (f) => (...a) => { try { f(...a); } catch (e) {} };
  try {
    new PerformanceObserver(quiet((l) => { const s = load();
      for (const e of l.getEntries()) s.long.push(Math.round(e.duration)); save(s);
    })).observe({type: 'longtask', buffered: true});
    new MutationObserver(quiet(() => { const s = load(); let n = 0;
      for (const b of document.querySelectorAll('[data-rapport-show][data-rapport-on]')) {
        const name = b.getAttribute('data-rapport-show') + (b.id ? '#' + b.id : '');
        if (!s.shown.includes(name)) { s.shown.push(name); n++; }
      }
      n && save(s);
    })).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-rapport-on']});
  } catch (e) {}
})();"""
_WATCHED: Final = (
    "() => JSON.parse(sessionStorage.getItem('rapport-kit') || '{\"long\":[],\"shown\":[]}')"
)
#: The text of the marked sections (what must never leave): trimmed lines of 12+ characters.
_SECTION_TEXT: Final = """() => [...document.querySelectorAll('[data-rapport-section]')]
  .flatMap((e) => e.innerText.split('\\n')).map((t) => t.trim()).filter((t) => t.length >= 12)"""


def top_pattern(scores: dict[str, float], threshold: float = NEUTRAL_BELOW) -> str:
    """The highest-scoring pattern, or "neutral" when every score is below ``threshold``: how a
    run reads the client's scores (the browser never needs it, so it is not in the wheel)."""
    best = max(scores.items(), key=lambda kv: kv[1], default=("neutral", 0.0))
    return best[0] if best[1] >= threshold else "neutral"


@dataclass
class PersonaRun:
    persona: str
    seed: int
    bodies: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: (seconds since the journey began, hint) for every hint in the server's answers
    hints: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    requests: list[SentRequest] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    page_text: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    long_tasks_ms: list[int] = field(default_factory=list)
    holdout: bool = False

    def first_hint(self, pattern: str | None = None) -> float | None:
        """Seconds from the journey's start to the first hint (for ``pattern``), or None."""
        return min(
            (t for t, h in self.hints if pattern is None or h.get("pattern") == pattern),
            default=None,
        )

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

    @property
    def privacy_problems(self) -> list[str]:
        return private_findings(self.requests, self.typed, page_text=self.page_text)

    def distinct_hints(self) -> list[dict[str, Any]]:
        """Each hint id once (its first answer), in the order they came."""
        seen: dict[str, dict[str, Any]] = {}
        for _, hint in self.hints:
            seen.setdefault(str(hint.get("id")), hint)
        return list(seen.values())


def at(where: str | Sequence[str], persona: str) -> Script:
    """The generic journey of ``persona`` on a page: ``where`` is a path under the run's base URL
    (or a full URL), or several of them (one is picked at random, like a visitor would)."""
    choices = [where] if isinstance(where, str) else list(where)

    async def script(page: Page, base: str, rng: random.Random) -> Played:
        path = rng.choice(choices)
        url = path if "://" in path else base.rstrip("/") + "/" + path.lstrip("/")
        return await play_async(page, persona, url, seed=rng)

    return script


def _is_collect(url: str, api: str | None) -> bool:
    return url.startswith(api + "/v1/collect") if api else url.split("?")[0].endswith("/v1/collect")


async def run_persona(
    browser: Browser,
    shop: str,
    api: str | None,
    persona: str,
    seed: int,
    scripts: dict[str, Script] | None = None,
) -> PersonaRun:
    """One seeded journey in a fresh browser context (its own storage: a new visitor)."""
    run = PersonaRun(persona, seed)
    script = (scripts or {}).get(persona) or at(shop, persona)
    rng = random.Random(f"{persona}:{seed}")
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    await context.add_init_script(WATCH_PAGE)
    started = time.monotonic()
    answers: list[tuple[float, Response]] = []

    def on_request(request: Request) -> None:
        run.requests.append(SentRequest.of(request))
        if _is_collect(request.url, api) and request.method == "POST":
            run.bodies.append(json.loads(request.post_data or "{}"))

    def on_response(response: Response) -> None:
        if _is_collect(response.url, api) and response.status == 200:
            answers.append((time.monotonic() - started, response))

    context.on("request", on_request)
    context.on("response", on_response)
    try:
        page = await context.new_page()
        page.on("pageerror", lambda error: run.errors.append(str(error)))
        try:
            played = await script(page, shop, rng)
            run.typed = list(played.typed) if isinstance(played, Played) else []
        except Exception as error:  # the run fails with its reason; the others go on
            run.errors.append(f"journey: {type(error).__name__}: {error}")
        await page.wait_for_timeout(3_500)  # the last changes go out (flush every 2 s)
        try:
            watched = await page.evaluate(_WATCHED)
            run.shown, run.long_tasks_ms = list(watched["shown"]), list(watched["long"])
            run.page_text = list(await page.evaluate(_SECTION_TEXT))
        except Exception:  # a page that is gone (or about:blank) has nothing to say
            pass
        for at_s, response in answers:
            try:
                body = await response.json()
            except Exception:  # a body gone with its page says nothing
                continue
            run.holdout = run.holdout or bool(body.get("holdout"))
            run.hints.extend((round(at_s, 1), h) for h in body.get("hints") or [])
    finally:
        await context.close()
    return run


async def run_personas(
    browser: Browser,
    shop: str,
    api: str | None,
    seeds: Sequence[int],
    parallel: int = 6,
    scripts: dict[str, Script] | None = None,
    personas: Sequence[str] | None = None,
    progress: Callable[[PersonaRun], None] | None = None,
    boots: int | None = None,
) -> list[PersonaRun]:
    """Every persona (of ``scripts``, or ``personas``) for every seed, ``parallel`` at a time;
    with ``boots``, at most that many page loads (Rapport booting on them) at once."""
    limit = asyncio.Semaphore(parallel)
    names = list(personas or (scripts or JOURNEYS))
    token = BOOT_SLOTS.set(asyncio.Semaphore(boots) if boots else None)  # tasks copy it

    async def one(persona: str, seed: int) -> PersonaRun:
        async with limit:
            run = await run_persona(browser, shop, api, persona, seed, scripts)
        if progress is not None:
            progress(run)
        return run

    try:
        jobs = [one(persona, seed) for seed in seeds for persona in names]
        return list(await asyncio.gather(*jobs))
    finally:
        BOOT_SLOTS.reset(token)


@asynccontextmanager
async def chromium(extra_args: Sequence[str] = ()) -> AsyncIterator[Browser]:
    """Headless Chromium as the e2e tests and benches launch it (``RAPPORT_CHROMIUM`` wins)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options(*extra_args))
        try:
            yield browser
        finally:
            await browser.close()


async def simulate(
    shop: str,
    api: str | None,
    seeds: Sequence[int],
    parallel: int = 6,
    scripts: dict[str, Script] | None = None,
    boots: int | None = None,
) -> list[PersonaRun]:
    """:func:`run_personas` in a browser of its own."""
    async with chromium() as browser:
        return await run_personas(browser, shop, api, seeds, parallel, scripts, boots=boots)
