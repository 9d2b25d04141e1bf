"""Logistic regression in numpy, trained per site on its own outcomes, explained by
per-feature contributions; transparent priors until a site has enough data.

Targets: ``conversion`` (the visitor purchased) and ``abandon`` (added to cart, never
purchased). Features are the profile's, without the label itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, Literal

import msgspec
import numpy as np

from rapport.server.profiles import Profile

__all__ = ["FEATURES", "MIN_TRAINING", "ScoreModel", "Scores", "features_of", "prior_model",
           "probabilities", "probability", "score_profile", "train", "weighed"]  # fmt: skip

Target = Literal["conversion", "abandon"]
FEATURES: Final = (
    "visits_log",
    "session_minutes",
    "recency_days",
    "hesitant",
    "urgent",
    "researcher",
    "comparison_shopper",
    "price_sensitive",
    "irritated",
    "returning_with_problem",
    "chat_topics",
    "support_contacts",
    "added_to_cart",
)
#: Visitors with a known outcome, and positives/negatives each, before a site's own model
#: replaces the priors.
MIN_TRAINING: Final = 50
MIN_CLASS: Final = 5
_PRIORS: Final[dict[str, dict[str, float]]] = {
    # Transparent starting weights (log-odds per unit), readable by site owners.
    "conversion": {"bias": -3.0, "visits_log": 0.6, "session_minutes": 0.05, "urgent": 1.0,
                   "researcher": 0.5, "added_to_cart": 1.5, "irritated": -1.0, "hesitant": -0.3,
                   "recency_days": -0.02},
    "abandon": {"bias": -2.0, "added_to_cart": 1.5, "hesitant": 1.0, "price_sensitive": 0.8,
                "irritated": 1.0, "urgent": -0.5},
}  # fmt: skip


class ScoreModel(msgspec.Struct, frozen=True, kw_only=True):
    """One target's model: weights over standardised features."""

    target: str
    weights: dict[str, float]
    bias: float
    mean: dict[str, float] = msgspec.field(default_factory=dict)
    scale: dict[str, float] = msgspec.field(default_factory=dict)
    source: Literal["prior", "trained"] = "prior"
    trained_on: int = 0
    trained_at: float = 0.0
    accuracy: float | None = None
    """Accuracy on the training set (a sanity figure, not a validation)."""


class Scores(msgspec.Struct, frozen=True, kw_only=True):
    """A score and the contributions (log-odds) that explain it."""

    probability: float
    contributions: dict[str, float]
    source: str


def _best_score(pattern: str) -> Callable[[Profile, float], float]:
    def best(profile: Profile, _now: float) -> float:
        history = profile.pattern_history.get(pattern)
        return max(history) if history else 0.0

    return best


def _recency(profile: Profile, now: float) -> float:
    recency = profile.recency_days(now)
    return min(recency if recency is not None else 0.0, 365.0)


def _added_to_cart(profile: Profile, _now: float) -> float:
    for names in profile.actions.values():  # a loop, not any() of a generator: half the time
        if "add_to_cart" in names:
            return 1.0
    return 0.0


def _session_minutes(profile: Profile, _now: float) -> float:
    current = profile.current  # CurrentSession.seconds, without the property call
    return min(max(0.0, current.last_at - current.started_at) / 60, 120.0)


#: The features that are a pattern's best score over the visitor's recent sessions.
_PATTERN_FEATURES: Final = ("hesitant", "urgent", "researcher", "comparison_shopper",
                            "price_sensitive", "irritated", "returning_with_problem")  # fmt: skip
#: How each feature is read from a profile (``now``: the time of scoring).
_FEATURE: Final[dict[str, Callable[[Profile, float], float]]] = {
    "visits_log": lambda profile, _now: math.log1p(profile.visits),
    "session_minutes": _session_minutes,
    "recency_days": _recency,
    **{p: _best_score(p) for p in _PATTERN_FEATURES},
    "chat_topics": lambda profile, _now: float(sum(profile.current.topics.values())),
    "support_contacts": lambda profile, _now: float(profile.support_contacts),
    "added_to_cart": _added_to_cart,
}  # fmt: skip


def features_of(profile: Profile, now: float, names: Sequence[str] = FEATURES) -> dict[str, float]:
    """The model's features of one profile (only ``names``, when a caller needs fewer)."""
    return {name: _FEATURE[name](profile, now) for name in names}


def weighed(*models: ScoreModel) -> tuple[str, ...]:
    """The features some of ``models`` give a weight: all that :func:`probability` reads."""
    return tuple(f for f in FEATURES if any(m.weights.get(f) for m in models))


def label_of(profile: Profile, target: str) -> int:
    if target == "conversion":
        return 1 if profile.purchases > 0 else 0
    added = any("add_to_cart" in names for names in profile.actions.values())
    return 1 if added and profile.purchases == 0 else 0


def _usable(target: str) -> list[str]:
    """Features that do not leak the label."""
    return [f for f in FEATURES if not (target == "abandon" and f == "added_to_cart")]


def prior_model(target: str) -> ScoreModel:
    priors = _PRIORS[target]
    return ScoreModel(
        target=target,
        weights={f: priors.get(f, 0.0) for f in _usable(target)},
        bias=priors["bias"],
    )


def probability(model: ScoreModel, features: dict[str, float]) -> float:
    """The model's probability for ``features`` (:func:`features_of`), without the
    explanation: the report's rollups bucket two scores per scored batch and need only this."""
    logit = model.bias
    for name, weight in model.weights.items():
        if weight:
            scale = model.scale.get(name, 1.0) or 1.0
            logit += weight * (features[name] - model.mean.get(name, 0.0)) / scale
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, logit))))


def probabilities(*models: ScoreModel) -> Callable[[Profile, float], tuple[float, ...]]:
    """A function giving each of ``models``' :func:`probability` of one profile, reading each
    weighed feature once and looking nothing up by name: the writer's report rollups score
    two models per scored batch, and a dict of features plus two passes over it per batch
    cost a third of the rollups' time (bench/report.py). Same arithmetic, same results."""
    names = weighed(*models)
    # Per model: its bias and, for each feature it weighs, (index in ``names``, weight, mean,
    # scale). A weight of 0.0 is left out, as probability() skips it, so the sum runs in the
    # same order over the same terms: bit for bit the same logit.
    plan = [
        (
            m.bias,
            [
                (i, weight, m.mean.get(name, 0.0), m.scale.get(name, 1.0) or 1.0)
                for i, name in enumerate(names)
                if (weight := m.weights.get(name, 0.0))
            ],
        )
        for m in models
    ]
    # The patterns' best scores are read in one pass over the history, the rest one by one.
    patterns = [(i, name) for i, name in enumerate(names) if name in _PATTERN_FEATURES]
    others = [(i, _FEATURE[name]) for i, name in enumerate(names) if name not in _PATTERN_FEATURES]
    width = len(names)

    def score(profile: Profile, now: float) -> tuple[float, ...]:
        x = [0.0] * width
        for i, read in others:
            x[i] = read(profile, now)
        history = profile.pattern_history
        for i, name in patterns:
            if scores := history.get(name):
                x[i] = max(scores)
        out = []
        for bias, terms in plan:
            logit = bias
            for i, weight, mean, scale in terms:
                logit += weight * (x[i] - mean) / scale
            out.append(1 / (1 + math.exp(-max(-30.0, min(30.0, logit)))))
        return tuple(out)

    return score


def score_profile(model: ScoreModel, profile: Profile, now: float) -> Scores:
    """Probability and per-feature contributions (standardised value × weight)."""
    x = features_of(profile, now)
    contributions = {}
    for name, weight in model.weights.items():
        value = (x[name] - model.mean.get(name, 0.0)) / (model.scale.get(name, 1.0) or 1.0)
        if weight * value:
            contributions[name] = round(weight * value, 3)
    logit = model.bias + sum(contributions.values())
    return Scores(
        probability=round(1 / (1 + math.exp(-max(-30.0, min(30.0, logit)))), 4),
        contributions=dict(sorted(contributions.items(), key=lambda kv: -abs(kv[1]))),
        source=model.source,
    )


LeadScorer = Callable[[Profile, float, float], Scores | None]
"""``score(profile, now, threshold)`` (:func:`lead_scorer`): the scores of a visitor who reached
``threshold``, else ``None``."""


def lead_scorer(model: ScoreModel) -> LeadScorer:
    """``score(profile, now, threshold)``: :func:`score_profile`'s scores when their probability
    reaches ``threshold``, else ``None``.

    A treated visitor's every collect asks whether they just became a hot lead, and nearly
    always they are below the threshold. The model's plain probability (:func:`probabilities`,
    2.2 µs) rules those out; only a visitor near the threshold gets the explained scores (6–7
    µs). ``score_profile`` rounds each contribution to 3 places and the probability to 4, so
    the two probabilities differ by at most 0.0005 per weighed feature times the logistic's
    steepest slope (1/4), plus 0.00005: a visitor more than twice that below the threshold
    cannot reach it, and the answer is always the one ``score_profile`` alone gives.
    """
    quick = probabilities(model)
    margin = 2 * (0.0005 * len(model.weights) / 4 + 0.00005)

    def score(profile: Profile, now: float, threshold: float) -> Scores | None:
        if quick(profile, now)[0] < threshold - margin:
            return None
        scores = score_profile(model, profile, now)
        return scores if scores.probability >= threshold else None

    return score


def train(
    profiles: Sequence[Profile], target: str, *, now: float, l2: float = 1.0, steps: int = 500
) -> ScoreModel:
    """Fit a logistic regression (gradient descent, L2) or return the priors when there is
    too little data (fewer than ``MIN_TRAINING`` visitors or ``MIN_CLASS`` of a class)."""
    names = _usable(target)
    y = np.array([label_of(p, target) for p in profiles], dtype=float)
    if len(y) < MIN_TRAINING or y.sum() < MIN_CLASS or (len(y) - y.sum()) < MIN_CLASS:
        return prior_model(target)
    x = np.array([[features_of(p, now)[n] for n in names] for p in profiles], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w = np.zeros(len(names))
    b = float(np.log(y.mean() / (1 - y.mean())))
    rate = 0.5
    n = len(y)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        grad_w = z.T @ (p - y) / n + l2 * w / n
        grad_b = float((p - y).mean())
        w -= rate * grad_w
        b -= rate * grad_b
    predictions = (1 / (1 + np.exp(-(z @ w + b)))) >= 0.5
    return ScoreModel(
        target=target,
        weights={name: round(float(v), 4) for name, v in zip(names, w, strict=True)},
        bias=round(b, 4),
        mean={name: float(v) for name, v in zip(names, mean, strict=True)},
        scale={name: float(v) for name, v in zip(names, scale, strict=True)},
        source="trained",
        trained_on=n,
        trained_at=now,
        accuracy=round(float((predictions == y.astype(bool)).mean()), 3),
    )
