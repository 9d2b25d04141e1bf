"""The hint a site receives: what to adapt, how strongly, why, and how a chat should talk.

Versioned so that the hints engine can add kinds and fields without breaking integrations:
readers must ignore fields they do not know. Schema and meaning: ``docs/hints.md``.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

__all__ = [
    "HINT_VERSION",
    "ChatBlock",
    "Evidence",
    "Handoff",
    "Hint",
    "HintsReply",
    "Localized",
    "ReplyLength",
    "Source",
    "Tone",
]

#: Bumped when a field's meaning changes. v2 added ``chat``, ``evidence``, ``rule``,
#: ``also`` and the sources ``chat``/``face``/``history``; every v1 field kept its meaning.
HINT_VERSION: Final = 2

Source = Literal["behaviour", "chat", "face", "history"]
ReplyLength = Literal["one_sentence", "short", "detailed"]
Tone = Literal["neutral", "reassuring", "empathetic", "apologetic", "concise", "expert"]
Handoff = Literal["none", "offer", "now"]


class Localized(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The same text in English and Russian."""

    en: str
    ru: str


class ChatBlock(msgspec.Struct, frozen=True, kw_only=True):
    """How a chat (human or LLM) should answer this visitor while the hint applies."""

    length: ReplyLength = "short"
    tone: Tone = "neutral"
    opener: Localized | None = None
    """A proactive first message, or ``None``: do not open the chat unprompted."""
    directive: Localized
    """Ready to append to an LLM system prompt."""
    handoff: Handoff = "none"
    """``offer``: offer a human; ``now``: hand over to a human at once."""


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """One link of the evidence chain: a feature (or score) and its value."""

    feature: str
    """``score:hesitant``, ``evidence:dwell_price``, ``tone:irritation``, ``topic:warranty``,
    ``session_seconds``, ``profile:purchases``, ``feedback:misses`` …"""
    value: float
    threshold: float | None = None
    """The rule's minimum for this feature, when it has one."""


class Hint(msgspec.Struct, frozen=True, kw_only=True):
    """One adaptation hint for one visitor.

    ``id`` is stable per visitor and rule (``"hesitant.reassure"``), so a page can tell a
    hint it already acted on from a new one, and feedback names it; ``reasons`` are
    human-readable and are shown to site owners (and to the visitor on request), never raw
    signals.
    """

    id: str
    """Stable per visitor and rule, e.g. ``"hesitant.reassure"``."""
    kind: str
    """What to do: ``reassure``, ``simplify``, ``expand``, ``offer_help``, ``hold_back``,
    ``escalate_to_human``, ``emphasise:<topic>``, ``recommend:<item>``…"""
    pattern: str
    """The behaviour pattern (or chat tone/topic) that triggered it."""
    strength: float
    """0–1: the score behind it, decayed after misses (2 decimals)."""
    source: Source = "behaviour"
    """Which evidence produced it."""
    reasons: list[str] = msgspec.field(default_factory=list)
    expires_at: int
    """Unix seconds after which the page should stop applying it."""
    version: int = HINT_VERSION
    rule: str = ""
    """The playbook rule that fired (the site's own or the default)."""
    evidence: list[Evidence] = msgspec.field(default_factory=list)
    chat: ChatBlock | None = None
    also: list[str] = msgspec.field(default_factory=list)
    """Further kinds that apply with this one (``emphasise:returns``, ``hold_back`` …)."""


class HintsReply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Body of ``GET /v1/hints/{visitor}``."""

    hints: list[Hint]
    holdout: bool = False
    """True: this visitor is in the control group; hints were computed but not sent."""
