"""Hints: what a site should adapt for a visitor, computed from the visitor's profile."""

from server.hints.model import HINT_VERSION, Hint, HintsReply
from server.hints.rules import RULES, RuleThresholds, hints_for

__all__ = ["HINT_VERSION", "RULES", "Hint", "HintsReply", "RuleThresholds", "hints_for"]
