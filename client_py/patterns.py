"""Behaviour patterns as live coordinates: several scores in [0, 1] at once, each with evidence.

Every pattern is a weighted sum of saturating features: a feature contributes
``weight * min(value / full, 1)`` points, and the score is the sum clamped to [0, 1]. A negative
weight is a suppressor (a visitor who added to the cart is no longer hesitating). A pattern
named in :data:`DEFINING_EVIDENCE` scores 0 without its defining evidence, however much of the
rest there is: "came back with a problem" needs a previous session, "comparing items" needs
attention moving between distinct items. Each
:class:`PatternScore` carries its contributions, so the site owner sees "price dwell 9.1 s →
+0.40" and a hint can explain itself.

:data:`PATTERN_WEIGHTS` below is the one documented place for weights and saturation points
(see docs/client.md); a site overrides them with ``data-rapport-config`` or
``rapport.configure({...})`` (:func:`weights_with_overrides`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .features import COMMITTING_ACTIONS, SessionFeatures
from .records import record
from .schema import EVIDENCE_FEATURES, PATTERNS
from .tone import ToneSession

__all__ = [
    "DEFINING_EVIDENCE",
    "HESITANT",
    "NEUTRAL_BELOW",
    "PATTERN_WEIGHTS",
    "Contribution",
    "PatternScore",
    "Term",
    "feature_values",
    "score_all",
    "score_pattern",
    "weights_with_overrides",
]

#: Below this score a pattern does not describe the visitor ("neutral" when all are below).
NEUTRAL_BELOW: Final = 0.5
#: A commitment this soon into the session (attended time) is a fast decision.
FAST_COMMIT_MS: Final = 60_000.0


@record(frozen=True, slots=True)
class Term:
    """One feature's part in a pattern: ``weight`` points when the feature reaches ``full``."""

    feature: str
    weight: float
    full: float


@record(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float
    points: float


@record(frozen=True, slots=True)
class PatternScore:
    name: str
    score: float
    evidence: tuple[Contribution, ...]


Weights = Mapping[str, tuple[Term, ...]]

#: The weights of every pattern (positive weights of a pattern sum to 1).
PATTERN_WEIGHTS: Final[dict[str, tuple[Term, ...]]] = {
    # Long attention on the price *and* on returns/warranty, going back and forth, not buying.
    "hesitant": (
        Term("dwell_price", 0.4, 8.0),
        Term("dwell_reassure", 0.4, 8.0),
        Term("price_returns_loops", 0.2, 2.0),
        Term("committed", -1.0, 1.0),
    ),
    # Delivery times, words of time pressure, a fast decision, fast scrolling.
    "urgent": (
        Term("dwell_delivery", 0.3, 6.0),
        Term("tone_urgency", 0.3, 0.8),
        Term("fast_commit", 0.25, 1.0),
        Term("topic_delivery", 0.05, 1.0),
        Term("scroll_speed", 0.1, 4.0),
    ),
    # Reads specs and reviews through (attended time / estimated reading time, see
    # features.SessionFeatures.read), deep, copies specs, asks about the product.
    "researcher": (
        Term("read_specs", 0.3, 1.0),
        Term("read_reviews", 0.25, 1.0),
        Term("scroll_depth", 0.1, 1.0),
        Term("copies_specs", 0.1, 1.0),
        Term("items_viewed", 0.1, 3.0),
        Term("topic_specs", 0.15, 1.0),
    ),
    # Comes back (often from an email) to order status, contacts, returns; asks about them.
    "returning_with_problem": (
        Term("dwell_support", 0.35, 8.0),
        Term("topic_problem", 0.25, 1.0),
        Term("returning_visitor", 0.1, 1.0),
        Term("entry_email", 0.1, 1.0),
        Term("dwell_reassure", 0.2, 10.0),
    ),
    # Rage clicks, dead clicks, an irritated tone, quick backs, excessive scrolling.
    "irritated": (
        Term("rage_clicks", 0.4, 2.0),
        Term("dead_clicks", 0.2, 3.0),
        Term("tone_irritation", 0.3, 0.8),
        Term("quick_backs", 0.05, 2.0),
        Term("excessive_scrolls", 0.05, 1.0),
    ),
    # Switches between items' prices and specs, several items, coming back to them.
    "comparison_shopper": (
        Term("comparisons", 0.4, 3.0),
        Term("price_items", 0.3, 3.0),
        Term("items_viewed", 0.15, 3.0),
        Term("revisits", 0.15, 2.0),
    ),
    # Long on prices, copies the price (to compare elsewhere), several prices, asks for discounts.
    "price_sensitive": (
        Term("dwell_price", 0.25, 12.0),
        Term("copies_price", 0.3, 1.0),
        Term("price_items", 0.2, 3.0),
        Term("topic_price", 0.25, 1.0),
    ),
}

HESITANT: Final = PATTERN_WEIGHTS["hesitant"]

#: Patterns that need one of these features above 0 to score at all, whatever the weights.
DEFINING_EVIDENCE: Final[dict[str, frozenset[str]]] = {
    "returning_with_problem": frozenset({"returning_visitor"}),
    "comparison_shopper": frozenset({"comparisons"}),
}


def _saturate(value: float, full: float) -> float:
    return 0.0 if full <= 0 else max(0.0, min(value / full, 1.0))


def feature_values(
    features: SessionFeatures, tone: ToneSession | None = None, *, returning: bool = False
) -> dict[str, float]:
    """The session as named numbers (the names of ``schema.EVIDENCE_FEATURES``)."""
    tone = tone or ToneSession()
    c = features.counter
    committed = bool(COMMITTING_ACTIONS.intersection(features.actions))
    commit = features.commit_after_ms
    topics = tone.topics
    return {
        "dwell_price": features.dwell_seconds("price"),
        "dwell_reassure": features.dwell_seconds("returns", "warranty"),
        "dwell_delivery": features.dwell_seconds("delivery"),
        "dwell_specs": features.dwell_seconds("specs"),
        "dwell_reviews": features.dwell_seconds("reviews"),
        "read_specs": round(features.read("specs"), 2),
        "read_reviews": round(features.read("reviews"), 2),
        "dwell_support": features.dwell_seconds("contacts", "order-status"),
        "price_returns_loops": float(features.back_and_forth),
        "revisits": float(sum(features.revisits().values())),
        "items_viewed": float(len(features.item_views)),
        "comparisons": float(c("comparisons")),
        "price_items": float(len(features.price_items)),
        "scroll_depth": features.max_scroll,
        "scroll_speed": features.max_scroll_speed,
        "hovers_without_click": float(c("hovers_without_click")),
        "rage_clicks": float(c("rage_clicks")),
        "dead_clicks": float(c("dead_clicks")),
        "quick_backs": float(c("quick_backs")),
        "excessive_scrolls": float(c("excessive_scrolls")),
        "idle_periods": float(c("idle_periods")),
        "tab_switches": float(c("tab_switches")),
        "copies_price": float(features.copies.get("price", 0)),
        "copies_specs": float(features.copies.get("specs", 0)),
        "forms_abandoned": float(c("forms_abandoned")),
        "page_views": float(features.page_views),
        "fast_commit": 1.0 if commit is not None and commit < FAST_COMMIT_MS else 0.0,
        "committed": 1.0 if committed else 0.0,
        "returning_visitor": 1.0 if returning else 0.0,
        "entry_email": 1.0 if features.context.get("source") == "email" else 0.0,
        "tone_irritation": tone.score("irritation"),
        "tone_urgency": tone.score("urgency"),
        "tone_positivity": tone.score("positivity"),
        "topic_problem": float(sum(topics.get(t, 0) for t in ("order_status", "returns"))),
        "topic_price": float(topics.get("price", 0) + topics.get("discount", 0)),
        "topic_delivery": float(topics.get("delivery", 0)),
        "topic_specs": float(topics.get("product", 0)),
    }


def score_pattern(name: str, terms: tuple[Term, ...], values: Mapping[str, float]) -> PatternScore:
    evidence = tuple(
        Contribution(
            term.feature,
            values.get(term.feature, 0.0),
            term.weight * _saturate(values.get(term.feature, 0.0), term.full),
        )
        for term in terms
    )
    score = max(0.0, min(1.0, sum(c.points for c in evidence)))
    needed = DEFINING_EVIDENCE.get(name)
    if needed and not any(values.get(feature, 0.0) > 0 for feature in needed):
        score = 0.0
    return PatternScore(name, score, evidence)


def score_all(
    features: SessionFeatures,
    tone: ToneSession | None = None,
    weights: Weights = PATTERN_WEIGHTS,
    *,
    returning: bool = False,
) -> list[PatternScore]:
    """Every pattern's score, in the schema's order."""
    values = feature_values(features, tone, returning=returning)
    return [score_pattern(name, tuple(weights.get(name, ())), values) for name in PATTERNS]


def weights_with_overrides(
    overrides: object, base: Weights = PATTERN_WEIGHTS
) -> dict[str, tuple[Term, ...]]:
    """``base`` changed by a site's overrides, e.g. ``{"urgent": {"dwell_delivery": 0.5}}`` or
    ``{"urgent": {"dwell_delivery": {"weight": 0.5, "full": 4}}}``. Unknown patterns or features,
    and values that are not finite numbers in [-1, 1] (weights) or (0, 1e6] (full), are ignored.
    """
    result = {name: tuple(terms) for name, terms in base.items()}
    if not isinstance(overrides, dict):
        return result
    for name, changes in overrides.items():
        if name not in PATTERNS or not isinstance(changes, dict):
            continue
        terms = {t.feature: t for t in result.get(name, ())}
        for feature, change in changes.items():
            if feature not in EVIDENCE_FEATURES:
                continue
            current = terms.get(feature, Term(feature, 0.0, 1.0))
            weight, full = current.weight, current.full
            if isinstance(change, dict):
                weight = _number(change.get("weight"), -1.0, 1.0, weight)
                full = _number(change.get("full"), 1e-6, 1e6, full)
            else:
                weight = _number(change, -1.0, 1.0, weight)
            terms[feature] = Term(feature, weight, full)
        result[name] = tuple(terms.values())
    return result


def _number(value: object, low: float, high: float, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    return default
