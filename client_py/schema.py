"""The one schema that decides what may leave the visitor's device.

Both sides read this module: the client's privacy filter drops every signal that does not
match it, and the server builds its strict msgspec validation from it. Keeping it as plain
data (no msgspec, no numpy) lets it run unchanged in CPython and in Pyodide.

A signal is a flat JSON object with a ``kind`` and a fixed set of fields. Every field is a
bounded number, a member of a closed vocabulary, or a short key matching a strict pattern
(keys are declared by the site owner in ``data-rapport-item``; they are never visitor text).
"""

from __future__ import annotations

import re
from typing import Final

from .records import record

__all__ = [
    "ACTION_NAME_PATTERN",
    "COUNTERS",
    "DAYPARTS",
    "DEVICES",
    "EVIDENCE_FEATURES",
    "EXPRESSIONS",
    "ID_PATTERN",
    "ITEM_PATTERN",
    "MAX_SIGNALS_PER_BATCH",
    "PATTERNS",
    "SCHEMA_VERSION",
    "SECTIONS",
    "SIGNALS",
    "SITE_KEY_PATTERN",
    "SOURCES",
    "TONES",
    "TOPICS",
    "WEEK_PARTS",
    "Enum",
    "Field",
    "Key",
    "Number",
    "SignalSpec",
    "signal_kinds",
]

SCHEMA_VERSION: Final = 1

#: Sections a site owner can declare with ``data-rapport-section``.
SECTIONS: Final = (
    "price",
    "returns",
    "warranty",
    "delivery",
    "specs",
    "reviews",
    "contacts",
    "order-status",
    "faq",
    "cart",
)

#: Behaviour patterns the client scores in [0, 1].
PATTERNS: Final = (
    "hesitant",
    "urgent",
    "researcher",
    "returning_with_problem",
    "irritated",
    "comparison_shopper",
    "price_sensitive",
)

#: Session counters of on-page behaviour (counts only, never positions or targets).
COUNTERS: Final = (
    "rage_clicks",
    "dead_clicks",
    "quick_backs",
    "excessive_scrolls",
    "idle_periods",
    "tab_switches",
    "forms_abandoned",
    "comparisons",
    "items_viewed",
    "hovers_without_click",
    "page_views",
)

#: Coarse context of the session (from the device's clock, screen and the entry's UTM medium
#: and referrer host; never the URL itself).
DAYPARTS: Final = ("night", "morning", "afternoon", "evening")
WEEK_PARTS: Final = ("weekday", "weekend")
DEVICES: Final = ("mobile", "tablet", "desktop")
SOURCES: Final = ("ad", "search", "direct", "referral", "email")

#: Chat tone dimensions, scored on the device from text that never leaves it.
TONES: Final = ("irritation", "urgency", "formality", "positivity")
#: Topics recognised in chat text (closed vocabulary).
TOPICS: Final = (
    "warranty",
    "returns",
    "delivery",
    "price",
    "insurance",
    "order_status",
    "payment",
    "product",
    "contacts",
    "discount",
)

#: Facial expressions of the on-device model (alphabetical; ``client_py.affect.LABELS``).
#: Only their averages over a window may leave the device, and only with camera consent.
EXPRESSIONS: Final = ("angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")

#: Names of the features that can appear as a pattern's evidence.
EVIDENCE_FEATURES: Final = (
    "dwell_price",
    "dwell_reassure",
    "dwell_delivery",
    "dwell_specs",
    "dwell_reviews",
    "dwell_support",
    "price_returns_loops",
    "revisits",
    "items_viewed",
    "comparisons",
    "price_items",
    "scroll_depth",
    "scroll_speed",
    "hovers_without_click",
    "rage_clicks",
    "dead_clicks",
    "quick_backs",
    "excessive_scrolls",
    "idle_periods",
    "tab_switches",
    "copies_price",
    "copies_specs",
    "forms_abandoned",
    "page_views",
    "fast_commit",
    "committed",
    "returning_visitor",
    "entry_email",
    "tone_irritation",
    "tone_urgency",
    "tone_positivity",
    "topic_problem",
    "topic_price",
    "topic_delivery",
    "topic_specs",
    "read_specs",
    "read_reviews",
)

#: Keys that a site owner puts in its markup (item ids): short, no spaces, no free text.
ITEM_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
#: Names of ``rapport.track`` actions: lower-case identifiers chosen by the site's code.
ACTION_NAME_PATTERN: Final = r"^[a-z][a-z0-9_]{0,39}$"
#: Visitor, session and batch ids: random, URL-safe, made on the device.
ID_PATTERN: Final = r"^[A-Za-z0-9_-]{8,64}$"
#: Public site keys, as ``rapport site add`` issues them.
SITE_KEY_PATTERN: Final = r"^pk_[A-Za-z0-9_-]{8,64}$"
#: ISO 4217 currency codes.
CURRENCY_PATTERN: Final = r"^[A-Z]{3}$"

MAX_SIGNALS_PER_BATCH: Final = 200


@record(frozen=True)
class Number:
    """A bounded number; ``integer`` rejects fractions and booleans."""

    minimum: float
    maximum: float
    integer: bool = False
    optional: bool = False

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if value != value:  # NaN never passes
            return False
        return self.minimum <= value <= self.maximum


@record(frozen=True)
class Enum:
    """One of a closed vocabulary."""

    values: tuple[str, ...]
    optional: bool = False

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.optional
        return isinstance(value, str) and value in self.values


@record(frozen=True)
class Key:
    """A short identifier matching ``pattern`` (never free text)."""

    pattern: str
    optional: bool = False

    def accepts(self, value: object) -> bool:
        if value is None:
            return self.optional
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


Field = Number | Enum | Key


@record(frozen=True)
class SignalSpec:
    """One kind of signal: its fields and why it exists (shown in the docs)."""

    kind: str
    fields: dict[str, Field]
    doc: str


SIGNALS: Final[dict[str, SignalSpec]] = {
    spec.kind: spec
    for spec in (
        SignalSpec(
            "dwell",
            {
                "section": Enum(SECTIONS),
                "item": Key(ITEM_PATTERN, optional=True),
                "seconds": Number(0, 86_400),
            },
            "Attended seconds (visible, tab focused, not idle) on a declared section this "
            "session, cumulative.",
        ),
        SignalSpec(
            "scroll",
            {"depth": Number(0, 1), "speed": Number(0, 100, optional=True)},
            "Deepest scroll position reached on the current page, as a fraction, and the "
            "fastest scrolling this session in page lengths per second (rounded).",
        ),
        SignalSpec(
            "clicks",
            {"count": Number(0, 1_000_000, integer=True)},
            "Clicks this session, cumulative.",
        ),
        SignalSpec(
            "revisit",
            {"item": Key(ITEM_PATTERN), "count": Number(1, 10_000, integer=True)},
            "How many times a declared item was viewed again this session.",
        ),
        SignalSpec(
            "pattern",
            {"name": Enum(PATTERNS), "score": Number(0, 1)},
            "A behaviour pattern's current score in [0, 1].",
        ),
        SignalSpec(
            "evidence",
            {
                "pattern": Enum(PATTERNS),
                "feature": Enum(EVIDENCE_FEATURES),
                "points": Number(0, 1),
            },
            "How much one feature contributed to a pattern's score (so hints can explain "
            "themselves).",
        ),
        SignalSpec(
            "counter",
            {"name": Enum(COUNTERS), "count": Number(0, 1_000_000, integer=True)},
            "A behaviour counter this session, cumulative (rage clicks, dead clicks, quick "
            "backs, tab switches, abandoned forms…).",
        ),
        SignalSpec(
            "section_event",
            {
                "name": Enum(("copy", "hover_without_click")),
                "section": Enum(SECTIONS),
                "count": Number(1, 1_000_000, integer=True),
            },
            "Copies from, or hovers without a click over, a declared section this session "
            "(where, never what).",
        ),
        SignalSpec(
            "context",
            {
                "daypart": Enum(DAYPARTS),
                "week": Enum(WEEK_PARTS),
                "device": Enum(DEVICES),
                "source": Enum(SOURCES),
            },
            "Coarse session context: part of the day and week on the visitor's clock, device "
            "class, and entry source class.",
        ),
        SignalSpec(
            "tone",
            {"name": Enum(TONES), "score": Number(0, 1)},
            "Chat tone this session, scored on the device; the text itself never leaves it.",
        ),
        SignalSpec(
            "topic",
            {"name": Enum(TOPICS), "count": Number(1, 10_000, integer=True)},
            "How many chat messages this session touched a topic (e.g. warranty asked 3 times).",
        ),
        SignalSpec(
            "action",
            {
                "name": Key(ACTION_NAME_PATTERN),
                "value": Number(0, 1e9, optional=True),
                "currency": Key(CURRENCY_PATTERN, optional=True),
            },
            "An action the site's own code reported with rapport.track (add_to_cart, purchase…).",
        ),
        SignalSpec(
            "affect",
            {
                "seconds": Number(0, 600),
                "frames": Number(1, 10_000, integer=True),
                "presence": Number(0, 1),
                "attention": Number(0, 1),
                "dominant": Enum(EXPRESSIONS, optional=True),
                "valence": Number(-1, 1, optional=True),
                "arousal": Number(-1, 1, optional=True),
                **{name: Number(0, 1, optional=True) for name in EXPRESSIONS},
                "micro": Number(0, 10_000, integer=True),
                "micro_label": Enum(EXPRESSIONS, optional=True),
                "section": Enum(SECTIONS, optional=True),
            },
            "Camera (only with the visitor's consent): one window of a few seconds, averaged on "
            "the device — share of frames with a face and facing the screen, mean expression "
            "probabilities, the dominant one, valence and arousal in [-1, 1], how many brief "
            "micro-expressions (most often which), and the declared section that was in view "
            "for most of the window (where, never what; absent when none). Never a frame, a "
            "face crop, landmarks, a URL or element text.",
        ),
    )
}


def signal_kinds() -> tuple[str, ...]:
    """The kinds in a stable order, for docs and the server's tagged union."""
    return tuple(SIGNALS)
