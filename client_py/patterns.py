"""Behaviour patterns as scores in [0, 1], each with the evidence that produced it.

A score is a weighted sum of saturating features, so every contribution can be shown to the
site owner ("price dwell 9.1 s → +0.40") and a hint can explain itself. Weights and saturation
points live in ``HESITANT`` (one documented place); a site may pass its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from client_py.features import SessionFeatures

__all__ = ["HESITANT", "Contribution", "HesitantWeights", "PatternScore", "score_hesitant"]

#: Actions after which a visitor is no longer hesitating about buying.
COMMITTING_ACTIONS: Final = frozenset({"add_to_cart", "begin_checkout", "purchase"})


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float
    points: float


@dataclass(frozen=True, slots=True)
class PatternScore:
    name: str
    score: float
    evidence: tuple[Contribution, ...]


@dataclass(frozen=True, slots=True)
class HesitantWeights:
    """Weights sum to 1; each feature saturates at its ``*_full`` value."""

    price_weight: float = 0.4
    price_full_seconds: float = 8.0
    reassure_weight: float = 0.4
    reassure_full_seconds: float = 8.0
    loop_weight: float = 0.2
    loop_full: float = 2.0


HESITANT: Final = HesitantWeights()


def _saturate(value: float, full: float) -> float:
    return 0.0 if full <= 0 else max(0.0, min(value / full, 1.0))


def score_hesitant(features: SessionFeatures, weights: HesitantWeights = HESITANT) -> PatternScore:
    """Long attention on price *and* on returns/warranty, going back and forth, without buying."""
    if COMMITTING_ACTIONS.intersection(features.actions):
        committed = next(a for a in features.actions if a in COMMITTING_ACTIONS)
        return PatternScore("hesitant", 0.0, (Contribution(f"action:{committed}", 1.0, 0.0),))
    price = features.dwell_seconds("price")
    reassure = features.dwell_seconds("returns", "warranty")
    loop = float(features.back_and_forth)
    evidence = (
        Contribution(
            "dwell:price",
            price,
            weights.price_weight * _saturate(price, weights.price_full_seconds),
        ),
        Contribution(
            "dwell:returns+warranty",
            reassure,
            weights.reassure_weight * _saturate(reassure, weights.reassure_full_seconds),
        ),
        Contribution(
            "price<->returns loops", loop, weights.loop_weight * _saturate(loop, weights.loop_full)
        ),
    )
    score = min(1.0, sum(c.points for c in evidence))
    return PatternScore("hesitant", score, evidence)
