"""Raw page events as the loader captures them, parsed defensively.

The loader sends compact arrays (``["in", t_ms, "price", "sku-1"]``) to keep its main-thread code
tiny. They come from a page we don't control, so anything malformed is dropped here rather than
trusted deeper in. These events stay on the device: only features derived from them are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from .records import record
from .schema import ACTION_NAME_PATTERN, ITEM_PATTERN, SECTIONS, Key, Number

__all__ = [
    "EVENT_CODES",
    "Action",
    "Activity",
    "Change",
    "ChatText",
    "Click",
    "Context",
    "Copy",
    "Event",
    "FieldFocus",
    "Hover",
    "PageEnd",
    "PageView",
    "Scroll",
    "SectionIn",
    "SectionOut",
    "Submit",
    "Visibility",
    "parse_event",
    "parse_events",
]

_ITEM: Final = Key(ITEM_PATTERN)
_ACTION: Final = Key(ACTION_NAME_PATTERN)
_CURRENCY: Final = Key(r"^[A-Z]{3}$")
_TIME: Final = Number(0, 1e14)
_FRACTION: Final = Number(0, 1)
_COORD: Final = Number(-1e6, 1e6)
_VALUE: Final = Number(0, 1e9)
_TZ: Final = Number(-1_000, 1_000)
_WIDTH: Final = Number(0, 100_000)
_SIZE: Final = Number(0, 1_000)


#: Longest chat text analysed (longer text is cut; it never leaves the worker anyway).
MAX_CHAT_CHARS: Final = 2_000
_NAV_TYPES: Final = ("navigate", "reload", "back_forward")


@record(frozen=True, slots=True)
class PageView:
    t: float
    #: How the page was reached: navigate, reload or back_forward (the Navigation Timing type).
    nav: str = "navigate"


@record(frozen=True, slots=True)
class Context:
    """Coarse facts about the device and the entry, from the loader's first moment on a page.

    ``utm_medium`` and ``referrer_host`` exist only inside the worker: they are turned into one
    of a few source classes, and only the class may leave.
    """

    t: float
    tz_offset_min: float
    width: float
    coarse: bool
    utm_medium: str
    referrer_host: str


@record(frozen=True, slots=True)
class Hover:
    """The pointer moved onto a declared section (or off all of them: section None)."""

    t: float
    section: str | None
    item: str | None


@record(frozen=True, slots=True)
class Copy:
    """The visitor copied something; where (the section), never what."""

    t: float
    section: str | None
    item: str | None


@record(frozen=True, slots=True)
class Change:
    """The DOM changed or the selection moved shortly after a click (so it was not dead)."""

    t: float


@record(frozen=True, slots=True)
class FieldFocus:
    """A form field got the focus; its value is never read."""

    t: float


@record(frozen=True, slots=True)
class Submit:
    t: float


@record(frozen=True, slots=True)
class ChatText:
    """Text the site owner routed to Rapport's chat analysis; it never leaves the worker."""

    t: float
    text: str


@record(frozen=True, slots=True)
class PageEnd:
    t: float


@record(frozen=True, slots=True)
class SectionIn:
    t: float
    section: str
    item: str | None
    #: The section's height in viewport heights (what there is to read), when the loader says.
    size: float | None = None


@record(frozen=True, slots=True)
class SectionOut:
    t: float
    section: str
    item: str | None


@record(frozen=True, slots=True)
class Visibility:
    """The tab became visible and focused (``attended``) or stopped being so."""

    t: float
    attended: bool


@record(frozen=True, slots=True)
class Activity:
    """Pointer, key or scroll activity (throttled by the loader); keeps the visitor not idle."""

    t: float


@record(frozen=True, slots=True)
class Scroll:
    t: float
    depth: float


@record(frozen=True, slots=True)
class Click:
    t: float
    x: float
    y: float
    section: str | None
    item: str | None


@record(frozen=True, slots=True)
class Action:
    """An action the site's own code reported with ``rapport.track``."""

    t: float
    name: str
    value: float | None
    currency: str | None


Event = (
    PageView
    | PageEnd
    | SectionIn
    | SectionOut
    | Visibility
    | Activity
    | Scroll
    | Click
    | Action
    | Context
    | Hover
    | Copy
    | Change
    | FieldFocus
    | Submit
    | ChatText
)


def _section(value: object) -> str | None:
    return value if isinstance(value, str) and value in SECTIONS else None


def _item(value: object) -> str | None:
    return value if isinstance(value, str) and _ITEM.accepts(value) else None


def _short(value: object) -> str:
    return value[:64].lower() if isinstance(value, str) else ""


def _number(spec: Number, value: object) -> float | None:
    return float(value) if spec.accepts(value) else None  # type: ignore[arg-type]


def _page_view(t: float, rest: list[object]) -> Event | None:
    nav = rest[0] if rest and rest[0] in _NAV_TYPES else "navigate"
    return PageView(t, str(nav))


def _chat_text(t: float, rest: list[object]) -> Event | None:
    text = rest[0] if rest else None
    return ChatText(t, text[:MAX_CHAT_CHARS]) if isinstance(text, str) else None


def _where(rest: list[object]) -> tuple[str | None, str | None]:
    section = _section(rest[0]) if rest else None
    return section, _item(rest[1]) if len(rest) > 1 and section is not None else None


def _context(t: float, rest: list[object]) -> Event | None:
    if len(rest) < 5:
        return None
    tz, width = _number(_TZ, rest[0]), _number(_WIDTH, rest[1])
    if tz is None or width is None:
        return None
    return Context(t, tz, width, rest[2] in (1, True), _short(rest[3]), _short(rest[4]))


def _section_in(t: float, rest: list[object]) -> Event | None:
    section = _section(rest[0]) if rest else None
    if section is None:
        return None
    item = _item(rest[1]) if len(rest) > 1 else None
    return SectionIn(t, section, item, _number(_SIZE, rest[2]) if len(rest) > 2 else None)


def _section_out(t: float, rest: list[object]) -> Event | None:
    section = _section(rest[0]) if rest else None
    return (
        None
        if section is None
        else SectionOut(t, section, _item(rest[1]) if len(rest) > 1 else None)
    )


def _visibility(t: float, rest: list[object]) -> Event | None:
    return Visibility(t, bool(rest[0])) if rest and rest[0] in (0, 1, True, False) else None


def _scroll(t: float, rest: list[object]) -> Event | None:
    depth = _number(_FRACTION, rest[0]) if rest else None
    return None if depth is None else Scroll(t, depth)


def _click(t: float, rest: list[object]) -> Event | None:
    if len(rest) < 2:
        return None
    x, y = _number(_COORD, rest[0]), _number(_COORD, rest[1])
    if x is None or y is None:
        return None
    section = _section(rest[2]) if len(rest) > 2 else None
    return Click(t, x, y, section, _item(rest[3]) if len(rest) > 3 else None)


def _action(t: float, rest: list[object]) -> Event | None:
    name = rest[0] if rest else None
    if not isinstance(name, str) or not _ACTION.accepts(name):
        return None
    value = _number(_VALUE, rest[1]) if len(rest) > 1 else None
    currency = rest[2] if len(rest) > 2 and _CURRENCY.accepts(rest[2]) else None
    return Action(t, name, value, currency if isinstance(currency, str) else None)


#: The event codes the loader writes (``wasm_build/src/loader/``), each with its parser. The
#: one table of them: the build fails when the loader writes a code that is not here or no
#: longer writes one that is (``wasm_build/cross_language.py``), and docs/client.md's table of
#: the loader's arrays is checked against it.
EVENT_CODES: Final[Mapping[str, Callable[[float, list[object]], Event | None]]] = {
    "pv": _page_view,
    "ctx": _context,
    "in": _section_in,
    "out": _section_out,
    "vis": _visibility,
    "act": lambda t, rest: Activity(t),
    "scr": _scroll,
    "clk": _click,
    "chg": lambda t, rest: Change(t),
    "hov": lambda t, rest: Hover(t, *_where(rest)),
    "cp": lambda t, rest: Copy(t, *_where(rest)),
    "fi": lambda t, rest: FieldFocus(t),
    "sb": lambda t, rest: Submit(t),
    "trk": _action,
    "txt": _chat_text,
    "end": lambda t, rest: PageEnd(t),
}


def parse_event(raw: object) -> Event | None:
    """One raw array to an event, or None when it is malformed in any way."""
    if not isinstance(raw, list) or len(raw) < 2 or not isinstance(raw[0], str):
        return None
    parser = EVENT_CODES.get(raw[0])
    t = _number(_TIME, raw[1])
    return None if parser is None or t is None else parser(t, raw[2:])


def parse_events(raw: object) -> list[Event]:
    """Parse a batch, keeping the valid events in time order (the loader may interleave)."""
    if not isinstance(raw, list):
        return []
    parsed = [event for event in map(parse_event, raw) if event is not None]
    parsed.sort(key=lambda event: event.t)
    return parsed
