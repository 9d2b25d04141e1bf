"""The hint a site receives: what to adapt, how strongly, and why.

Versioned so that a later hints engine can add kinds and fields without breaking
integrations: readers must ignore fields they do not know.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

__all__ = ["HINT_VERSION", "Hint", "HintsReply"]

#: Bumped when a field's meaning changes (adding optional fields does not bump it).
HINT_VERSION: Final = 1


class Hint(msgspec.Struct, frozen=True, kw_only=True):
    """One adaptation hint for one visitor.

    ``id`` is stable per visitor and rule (``"hesitant.reassure"``), so a page can tell a
    hint it already acted on from a new one; ``reasons`` are human-readable and are shown to
    site owners (and to the visitor on request), never raw signals.
    """

    id: str
    """Stable per visitor and rule, e.g. ``"hesitant.reassure"``."""
    kind: str
    """What to do: ``"reassure"`` (returns, warranty, delivery info; a calm chat tone)."""
    pattern: str
    """The behaviour pattern that triggered it."""
    strength: float
    """0–1, the evidence behind it (the pattern score rounded to 2 decimals)."""
    source: Literal["behaviour"] = "behaviour"
    """Which evidence produced it; later: ``"emotion"``, ``"rules"``…"""
    reasons: list[str] = msgspec.field(default_factory=list)
    expires_at: int
    """Unix seconds after which the page should stop applying it."""
    version: int = HINT_VERSION


class HintsReply(msgspec.Struct, frozen=True):
    """Body of ``GET /v1/hints/{visitor}``."""

    hints: list[Hint]
