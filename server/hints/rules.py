"""Hint rules: pure functions from a visitor profile to hints (no I/O, easy to test).

All thresholds live in :data:`RULES` so that tuning them is one reviewed change. The
skeleton has one rule:

    latest ``hesitant`` score ≥ 0.60, observed within the last 30 minutes, and no
    ``add_to_cart`` / ``purchase`` action in the session that score came from
    → one ``reassure`` hint, expiring 30 minutes after that score was observed.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.hints.model import Hint
from server.profiles import Profile

__all__ = ["RULES", "RuleThresholds", "hints_for"]


@dataclass(frozen=True, slots=True)
class RuleThresholds:
    """The numbers behind the rules (one documented place)."""

    hesitant_min_score: float = 0.60
    """A ``hesitant`` score at or above this suggests reassurance."""
    conversion_actions: frozenset[str] = frozenset({"add_to_cart", "purchase"})
    """Actions that show the visitor already decided: no reassurance needed."""
    hint_ttl_seconds: int = 30 * 60
    """How long evidence stays fresh; hints expire this long after the score was seen."""


RULES = RuleThresholds()


def hints_for(profile: Profile, *, now: float, rules: RuleThresholds = RULES) -> list[Hint]:
    """The hints that apply to ``profile`` at time ``now`` (unix seconds)."""
    hints: list[Hint] = []
    hesitant = profile.patterns.get("hesitant")
    if hesitant is not None and hesitant.score >= rules.hesitant_min_score:
        expires_at = int(hesitant.at + rules.hint_ttl_seconds)
        converted = profile.session_actions(hesitant.session) & rules.conversion_actions
        if expires_at > now and not converted:
            hints.append(
                Hint(
                    id="hesitant.reassure",
                    kind="reassure",
                    pattern="hesitant",
                    strength=round(hesitant.score, 2),
                    reasons=[
                        f"hesitant score {hesitant.score:.2f} ≥ "
                        f"{rules.hesitant_min_score:.2f} with no add-to-cart this session"
                    ],
                    expires_at=expires_at,
                )
            )
    return hints
