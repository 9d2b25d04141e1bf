"""Persona journeys that work on ANY page marked for Rapport, written once for both Playwright APIs.

A journey is a generator of :class:`Step` values: it asks what the page declares
(``data-rapport-section`` / ``data-rapport-item`` / ``data-rapport-chat``), then scrolls, dwells,
hovers, clicks and types. ``server.testing.drive`` runs the steps on a sync Playwright page
(pytest, pytest-playwright) or an async one (the persona runner, ``rapport personas``), so the
journey logic exists once. Timing and paths come from a seeded ``random.Random``: the same seed
makes the same visitor.

Each journey first checks the markup it needs and raises :class:`MissingMarkup` naming what the
page lacks (e.g. "hesitant needs a data-rapport-section="returns" or "warranty" element"), so a
site owner learns what to mark instead of reading a timeout.

These reproduce the journeys the suite drove on the demo shop and on Fjellstad Outdoor (a site
nobody tuned the patterns for) with the demo's and Fjellstad's ids replaced by the attributes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = [
    "JOURNEYS",
    "PERSONA_NAMES",
    "Journey",
    "Markup",
    "MissingMarkup",
    "Section",
    "Step",
    "earlier_visit",
    "open_page",
    "read",
    "rest_on",
]

StepKind = Literal["goto", "markup", "eval", "move", "click", "wheel", "wait", "type", "fill",
                   "tab", "heard"]  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One thing the visitor does; ``drive`` sends back the result (markup, an evaluation)."""

    kind: StepKind
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Section:
    name: str
    item: str | None
    index: int
    """Its position among the page's ``[data-rapport-section]`` elements."""


@dataclass(frozen=True)
class Markup:
    """What the current page declares for Rapport (read by ``MARKUP_SCRIPT``)."""

    url: str
    sections: tuple[Section, ...]
    chats: int
    fields: int
    links: tuple[str, ...] = field(default=())

    def named(self, *names: str) -> list[Section]:
        return [s for s in self.sections if s.name in names]

    def items(self, *names: str) -> dict[str, list[Section]]:
        found: dict[str, list[Section]] = {}
        for s in self.named(*names):
            if s.item:
                found.setdefault(s.item, []).append(s)
        return found


Journey = Generator[Step, Any, None]
#: What a journey does on a page: (url, rng) → steps.
JourneyFn = Callable[[str, random.Random], Journey]


class MissingMarkup(Exception):
    """The page lacks markup a persona needs (the message names it and the persona)."""


#: Evaluated in the page: the marked sections, chat inputs, other text fields, same-origin links
#: (those inside <main> first).
MARKUP_SCRIPT: Final = """() => {
  const all = [...document.querySelectorAll('[data-rapport-section]')];
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const links = [...document.querySelectorAll('a[href]')]
    .filter((a) => a.origin === location.origin && a.pathname !== location.pathname)
    .sort((a, b) => (b.closest('main') ? 1 : 0) - (a.closest('main') ? 1 : 0))
    .map((a) => a.origin + a.pathname);
  return {
    url: location.href,
    sections: all.map((e, i) => [e.getAttribute('data-rapport-section'),
                                 e.getAttribute('data-rapport-item'), i, visible(e)]),
    chats: [...document.querySelectorAll('[data-rapport-chat]')].filter(visible).length,
    fields: [...document.querySelectorAll('input[type=text]:not([data-rapport-chat]),'
      + 'input:not([type]):not([data-rapport-chat])')].filter(visible).length,
    links: [...new Set(links)],
  };
}"""

#: A section by its index among the marked ones, or any element by a CSS selector.
_PICK: Final = """const el = typeof t === 'number'
  ? document.querySelectorAll('[data-rapport-section]')[t] : document.querySelector(t);"""
_SCROLL_TO: Final = f"t => {{ {_PICK} el.scrollIntoView({{block: 'center'}}); }}"
_BOX: Final = f"""t => {{ {_PICK} const r = el.getBoundingClientRect();
  return {{x: r.x, y: r.y, width: r.width, height: r.height}}; }}"""
_COPY_FROM: Final = """i => {
  const s = document.querySelectorAll('[data-rapport-section]')[i];
  const cell = s.querySelector('td, li, dd, p, span') || s; const r = new Range();
  r.selectNodeContents(cell); getSelection().removeAllRanges(); getSelection().addRange(r);
  cell.dispatchEvent(new ClipboardEvent('copy', {bubbles: true})); }"""
#: A spot that does nothing when clicked (no link, button, field or handler-looking role under
#: it): an image first, then any marked section; scrolled into view. Null when none.
_DEAD_SPOT: Final = """seed => {
  let n = seed; const rnd = () => (n = (n * 16807) % 2147483647) / 2147483647;
  const live = 'a,button,input,textarea,select,label,summary,video,iframe,[onclick],'
    + '[role=button],[role=link],[tabindex],[contenteditable],[data-rapport-show]';
  const big = (e) => {
    const r = e.getBoundingClientRect(); return r.width >= 120 && r.height >= 80; };
  const cands = [...document.querySelectorAll('main img, img, [data-rapport-section]')]
    .filter((e) => big(e) && !e.closest(live));
  for (const e of cands) {
    e.scrollIntoView({block: 'center'});
    const r = e.getBoundingClientRect();
    for (let k = 0; k < 40; k++) {
      const x = r.x + 30 + rnd() * Math.max(1, r.width - 60);
      const y = Math.max(r.y, 0) + 20 + rnd() * Math.max(1, Math.min(r.height, innerHeight) - 40);
      const at = document.elementFromPoint(x, y);
      if (at && !at.closest(live)) return {x, y};
    }
  }
  return null;
}"""
_TRACK: Final = "name => window.rapport.track(name)"
_BOTTOM: Final = "() => window.scrollTo(0, document.documentElement.scrollHeight)"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def _markup(raw: dict[str, Any]) -> Markup:
    sections = tuple(Section(n, item or None, i) for n, item, i, shown in raw["sections"] if shown)
    return Markup(raw["url"], sections, int(raw["chats"]), int(raw["fields"]),
                  tuple(raw.get("links", ())))  # fmt: skip


def open_page(url: str) -> Generator[Step, Any, Markup]:
    """Go to ``url``, wait for Rapport to be ready, and read what the page declares."""
    yield Step("goto", (url,))
    raw = yield Step("markup")
    return _markup(raw)


def _need(markup: Markup, persona: str, *alternatives: str) -> list[Section]:
    found = markup.named(*alternatives)
    if not found:
        names = " or ".join(f'"{a}"' for a in alternatives)
        raise MissingMarkup(
            f"{persona} needs a visible data-rapport-section={names} element on {markup.url} "
            f"(the page declares: {_declared(markup)})"
        )
    return found


def _need_chat(markup: Markup, persona: str) -> None:
    if not markup.chats:
        raise MissingMarkup(
            f"{persona} types into a chat: {markup.url} has no visible input or textarea marked "
            f"data-rapport-chat (the page declares: {_declared(markup)})"
        )


def _declared(markup: Markup) -> str:
    names = sorted({s.name for s in markup.sections})
    return ", ".join(names) + (", a chat input" if markup.chats else "") if names else "nothing"


def _natural(seconds: float, rng: random.Random) -> float:
    return seconds * rng.uniform(0.85, 1.15)


def _wait(ms: float) -> Step:
    return Step("wait", (int(ms),))


def _target(section: Section | str) -> int | str:
    return section if isinstance(section, str) else section.index


def read(section: Section | str, seconds: float, rng: random.Random) -> Journey:
    """Look at a section (or an element by CSS selector) the way a reader does: in view, moving
    the pointer now and then."""
    yield Step("eval", (_SCROLL_TO, _target(section)))
    left = seconds * 1000
    while left > 0:
        yield Step("move", (rng.uniform(200, 1000), rng.uniform(150, 600)))
        step = min(left, rng.uniform(600, 1300))
        yield _wait(step)
        left -= step


def rest_on(section: Section | str, seconds: float, rng: random.Random) -> Journey:
    """Bring a section (or an element by CSS selector) into view and rest the pointer on it,
    with small moves (a hover)."""
    yield Step("eval", (_SCROLL_TO, _target(section)))
    box = yield Step("eval", (_BOX, _target(section)))
    left = seconds * 1000
    while left > 0:
        yield Step("move", (box["x"] + box["width"] * rng.uniform(0.2, 0.8),
                            box["y"] + box["height"] * rng.uniform(0.2, 0.8)))  # fmt: skip
        step = min(left, rng.uniform(300, 700))
        yield _wait(step)
        left -= step


def chat(text: str, rng: random.Random) -> Journey:
    """Type into the page's first visible chat input and send it with Enter."""
    yield Step("type", ("[data-rapport-chat] >> visible=true", text, rng.randint(15, 40)))
    yield _wait(rng.randint(300, 900))


def earlier_visit(url: str, rng: random.Random) -> Journey:
    """A previous session of this visitor: another tab of the same browser (its own
    sessionStorage, the same first-party visitor secret) that browses until the server has heard
    from it, then closes."""
    yield Step("tab", ("new",))
    yield Step("goto", (url,))
    for _ in range(rng.randint(2, 4)):
        yield Step("move", (rng.uniform(200, 1000), rng.uniform(150, 600)))
        yield Step("wheel", (rng.randint(150, 400),))
        yield _wait(rng.randint(500, 1000))
    yield Step("heard", (90_000,))
    yield Step("tab", ("close",))


def leave() -> Step:
    """Let the loader post its last events and the worker save its state before navigating."""
    return _wait(1_200)


def hesitant(url: str, rng: random.Random) -> Journey:
    """Price, then returns or warranty, back to the price, no purchase."""
    page = yield from open_page(url)
    price = _need(page, "hesitant", "price")[0]
    reassurance = rng.choice(_need(page, "hesitant", "returns", "warranty"))
    yield from read(price, rng.uniform(8, 10), rng)
    yield from read(reassurance, rng.uniform(8, 10), rng)
    yield from read(price, rng.uniform(2, 4), rng)


URGENT_LINES: Final = (
    "I need it by tomorrow, asap! Is express possible?",
    "Срочно нужна доставка на завтра!",
    "Can you ship it today? It's urgent",
    "Нужно как можно скорее, успеете к пятнице?",
)


def urgent(url: str, rng: random.Random) -> Journey:
    """Delivery, an urgent question in the chat, a glance at the price, add to cart."""
    page = yield from open_page(url)
    delivery = _need(page, "urgent", "delivery")[0]
    _need_chat(page, "urgent")
    yield from read(delivery, rng.uniform(6, 8), rng)
    yield from chat(rng.choice(URGENT_LINES), rng)
    for price in page.named("price")[:1]:
        yield from read(price, rng.uniform(1, 2), rng)
    yield Step("eval", (_TRACK, "add_to_cart"))
    yield _wait(rng.randint(1_000, 2_000))


RESEARCH_LINES: Final = (
    "What is the battery life with noise cancelling on?",
    "Какая ёмкость аккумулятора и вес?",
    "Is it compatible with bluetooth 5.0 laptops?",
    "What is the packed weight and what are the specs of the frame?",
)


def researcher(url: str, rng: random.Random) -> Journey:
    """Long on the specs (copies a value), long on the reviews, a factual question, to the end."""
    page = yield from open_page(url)
    specs = _need(page, "researcher", "specs")[0]
    reviews = _need(page, "researcher", "reviews")[0]
    yield from read(specs, rng.uniform(14, 17), rng)
    yield Step("eval", (_COPY_FROM, specs.index))
    yield from read(reviews, rng.uniform(10, 13), rng)
    if page.chats:
        yield from chat(rng.choice(RESEARCH_LINES), rng)
    yield Step("eval", (_BOTTOM,))
    yield _wait(rng.randint(800, 1_500))


PROBLEM_LINES: Final = (
    "Where is my order? It has not arrived yet",
    "Где мой заказ? Не пришёл до сих пор",
    "I want to return the headphones, how do I get a refund?",
    "Заказ не пришёл, хочу оформить возврат",
    "Where is my parcel? It still has not arrived",
)


def returning_with_problem(url: str, rng: random.Random) -> Journey:
    """An earlier session, then back from an e-mail to the order status; a lookup, the contacts,
    "where is my order" in the chat."""
    plain = _without_query(url)
    yield from earlier_visit(plain, rng)
    medium = rng.choice(["email", "newsletter"])
    page = yield from open_page(_with_query(url, utm_medium=medium, utm_source="crm"))
    status = _need(page, "returning_with_problem", "order-status")[0]
    _need_chat(page, "returning_with_problem")
    yield from read(status, rng.uniform(5, 7), rng)
    if page.fields:
        yield Step("fill", (f"ORD-{rng.randint(10000, 99999)}",))
    for contacts in page.named("contacts")[:1]:
        yield from read(contacts, rng.uniform(3, 5), rng)
    yield from chat(rng.choice(PROBLEM_LINES), rng)
    yield from read(status, rng.uniform(2, 3), rng)


ANGRY_LINES: Final = (
    "This is ridiculous, nothing works on this page!!!",
    "Ничего не работает, это просто безобразие!!!",
    "WHY DOES NOTHING HAPPEN?? Terrible site",
    "Nothing works on this page!!! Where is my order??",
)


def irritated(url: str, rng: random.Random) -> Journey:
    """Two bursts of clicks on something that does nothing, then an angry line in the chat."""
    page = yield from open_page(url)
    _need_chat(page, "irritated")
    spot = yield Step("eval", (_DEAD_SPOT, rng.randint(1, 2**31 - 2)))
    if spot is None:
        raise MissingMarkup(
            f"irritated clicks where nothing happens: {page.url} has no image or marked "
            "section at least 120×80 px with a spot free of links, buttons and fields"
        )
    for _ in range(2):
        for _ in range(rng.randint(3, 5)):
            yield Step("click", (spot["x"] + rng.uniform(-8, 8), spot["y"] + rng.uniform(-8, 8)))
            yield _wait(rng.randint(80, 300))
        yield _wait(rng.randint(2_800, 3_500))
    yield from chat(rng.choice(ANGRY_LINES), rng)
    yield _wait(rng.randint(2_800, 3_500))


def comparison_shopper(url: str, rng: random.Random) -> Journey:
    """Rests on the prices and specs of several items, then goes back to two of them. On a
    listing whose cards are marked; on a page with fewer than 3 marked items, on the pages its
    links lead to (a listing of product pages)."""
    page = yield from open_page(url)
    items = page.items("price", "specs")
    if len(items) >= 3:
        picks = rng.sample(sorted(items), min(4, len(items)))
        for sku in picks:
            yield from rest_on(rng.choice(items[sku]), _natural(1.8, rng), rng)
        for sku in rng.sample(picks, 2):
            prices = [s for s in items[sku] if s.name == "price"] or items[sku]
            yield from rest_on(prices[0], _natural(1.5, rng), rng)
        return
    visited: list[tuple[str, Section]] = []
    for link in page.links[:8]:
        if len(visited) >= 3:
            break
        yield leave()
        there = yield from open_page(link)
        found = there.items("price", "specs")
        if len(found) == 1:
            [sections] = found.values()
            prices = [s for s in sections if s.name == "price"] or sections
            yield from rest_on(prices[0], _natural(2.5, rng), rng)
            visited.append((link, prices[0]))
    if len(visited) < 3:
        raise MissingMarkup(
            f"comparison_shopper needs 3 or more items (data-rapport-item on price or specs "
            f"sections) on {url} or on the pages it links to; found {len(items) + len(visited)}"
        )
    for link, section in rng.sample(visited, 2):
        yield leave()
        yield from open_page(link)
        yield from rest_on(section, _natural(2, rng), rng)


CALMING: Final = frozenset({"returns", "warranty", "order-status", "contacts"})


def neutral(url: str, rng: random.Random) -> Journey:
    """Skims the page: a little scrolling, then a brief glance at a section or two, in page order.
    Nothing in particular: no section long enough to read it through (a short one reads in 6 s),
    and no going back to a section passed (back to the price after the returns came into view is
    what hesitation looks like)."""
    page = yield from open_page(url)
    if not page.sections:
        raise MissingMarkup(f"neutral needs at least one data-rapport-section on {url}")
    for _ in range(rng.randint(1, 2)):
        yield Step("wheel", (rng.randint(150, 350),))
        yield _wait(rng.randint(600, 1_200))
    # Not the reassurance or support sections: price then returns is what hesitation looks like.
    calm = [s for s in page.sections if s.name not in CALMING] or list(page.sections)
    for section in sorted(rng.sample(calm, min(2, len(calm))), key=lambda s: s.index):
        yield from read(section, rng.uniform(1.5, 2.5), rng)


JOURNEYS: Final[dict[str, JourneyFn]] = {
    "hesitant": hesitant,
    "urgent": urgent,
    "researcher": researcher,
    "returning_with_problem": returning_with_problem,
    "irritated": irritated,
    "comparison_shopper": comparison_shopper,
    "neutral": neutral,
}
PERSONA_NAMES: Final[Sequence[str]] = tuple(JOURNEYS)
