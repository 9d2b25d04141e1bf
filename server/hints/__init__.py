"""Hints: what a site should adapt for a visitor, computed from the visitor's profile."""

from rapport.server.hints.model import (
    HINT_VERSION,
    ChatBlock,
    Evidence,
    Hint,
    HintsReply,
    Localized,
)
from rapport.server.hints.rules import hints_for

__all__ = ["HINT_VERSION", "ChatBlock", "Evidence", "Hint", "HintsReply", "Localized", "hints_for"]
