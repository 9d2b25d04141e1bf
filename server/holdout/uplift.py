"""Uplift of treated over control: conversion, time to conversion, irritation guardrail.

* Proportions: Wilson score intervals per arm; the difference (treated − control) with
  Newcombe's hybrid score interval (Newcombe 1998, method 10), which keeps its coverage
  for small counts and proportions near 0 or 1, unlike the Wald interval.
* Time to conversion (converters only): difference of means with a percentile bootstrap
  (2000 resamples, fixed seed, so the report is reproducible).

The unit is a visitor for whom at least one hint was computed (in either arm): that is
where the two arms differ. Outcomes count only after that first hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from rapport.server.profiles import Profile
from rapport.server.storage.base import HintLogRow

__all__ = [
    "Arm",
    "Interval",
    "Unit",
    "UpliftReport",
    "newcombe",
    "units_from",
    "uplift",
    "uplift_by_source",
    "wilson",
]

Z95 = 1.959963984540054
IRRITATED_AT = 0.6


@dataclass(frozen=True, slots=True)
class Unit:
    """One visitor in the experiment."""

    arm: str
    converted: bool
    seconds_to_conversion: float | None
    irritated: bool


class Interval(msgspec.Struct, frozen=True):
    estimate: float
    low: float
    high: float


class Arm(msgspec.Struct, frozen=True):
    visitors: int
    conversions: int
    conversion: Interval
    irritated: int
    irritation: Interval
    mean_seconds_to_conversion: float | None


class UpliftReport(msgspec.Struct, frozen=True):
    treated: Arm
    control: Arm
    conversion_uplift: Interval | None
    """Treated − control conversion rate (95 %, Newcombe)."""
    irritation_difference: Interval | None
    """Treated − control irritation rate (95 %, Newcombe): the guardrail."""
    seconds_to_conversion_difference: Interval | None
    """Treated − control mean seconds to conversion (95 %, bootstrap)."""
    guardrail_ok: bool | None
    """False when treated visitors are significantly more often irritated."""
    method: str = "Wilson/Newcombe (proportions), percentile bootstrap (times); 95 %"


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for a proportion."""
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> Interval:
    """Newcombe's hybrid score interval for p1 − p2."""
    a, b = wilson(s1, n1, z), wilson(s2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


def bootstrap_mean_difference(
    x: Sequence[float], y: Sequence[float], *, resamples: int = 2000, seed: int = 7
) -> Interval | None:
    """Percentile bootstrap interval of mean(x) − mean(y)."""
    if len(x) < 2 or len(y) < 2:
        return None
    rng = np.random.default_rng(seed)
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = rng.choice(xa, (resamples, len(xa))).mean(axis=1)
    dy = rng.choice(ya, (resamples, len(ya))).mean(axis=1)
    diffs = dx - dy
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Interval(float(xa.mean() - ya.mean()), float(low), float(high))


def _arm(units: list[Unit]) -> Arm:
    n = len(units)
    conv = sum(u.converted for u in units)
    irr = sum(u.irritated for u in units)
    times = [u.seconds_to_conversion for u in units if u.seconds_to_conversion is not None]
    return Arm(
        visitors=n,
        conversions=conv,
        conversion=wilson(conv, n),
        irritated=irr,
        irritation=wilson(irr, n),
        mean_seconds_to_conversion=(sum(times) / len(times)) if times else None,
    )


def uplift(units: Sequence[Unit]) -> UpliftReport:
    """The report for a set of units."""
    treated = [u for u in units if u.arm == "treated"]
    control = [u for u in units if u.arm == "control"]
    t, c = _arm(treated), _arm(control)
    both = bool(treated and control)
    conv = newcombe(t.conversions, t.visitors, c.conversions, c.visitors) if both else None
    irr = newcombe(t.irritated, t.visitors, c.irritated, c.visitors) if both else None
    times = bootstrap_mean_difference(
        [u.seconds_to_conversion for u in treated if u.seconds_to_conversion is not None],
        [u.seconds_to_conversion for u in control if u.seconds_to_conversion is not None],
    )
    return UpliftReport(
        treated=t,
        control=c,
        conversion_uplift=conv,
        irritation_difference=irr,
        seconds_to_conversion_difference=times,
        guardrail_ok=None if irr is None else irr.low <= 0,
    )


def units_from(log: Sequence[HintLogRow], profiles: dict[str, Profile]) -> list[Unit]:
    """One unit per visitor with a logged hint; outcomes after the first hint."""
    first: dict[str, HintLogRow] = {}
    for row in log:
        if row.visitor not in first or row.first_at < first[row.visitor].first_at:
            first[row.visitor] = row
    units = []
    for visitor, row in first.items():
        profile = profiles.get(visitor) or Profile()
        bought_at = 0.0
        if profile.first_purchase_at >= row.first_at:
            bought_at = profile.first_purchase_at
        elif profile.last_purchase_at >= row.first_at:
            bought_at = profile.last_purchase_at
        units.append(
            Unit(
                arm=row.arm,
                converted=bought_at > 0,
                seconds_to_conversion=(bought_at - row.first_at) if bought_at else None,
                irritated=profile.pattern_max.get("irritated", 0.0) >= IRRITATED_AT,
            )
        )
    return units


def uplift_by_source(
    log: Sequence[HintLogRow], profiles: dict[str, Profile], source_of: Callable[[str], str]
) -> dict[str, UpliftReport]:
    """One report per hint source (``behaviour``, ``chat``, ``face``, ``history``): the units
    are the visitors with a logged hint of that source, counted from their first such hint.
    ``source_of`` maps a hint id to its source (the site's playbook knows)."""
    sources: dict[str, list[HintLogRow]] = {}
    for row in log:
        sources.setdefault(source_of(row.hint_id), []).append(row)
    return {source: uplift(units_from(rows, profiles)) for source, rows in sorted(sources.items())}
