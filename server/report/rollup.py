"""What one stored batch adds to the report's hourly rollups (pure; the writer calls it).

The writer knows each batch's visitor profile before and after the batch, so every number the
dashboard needs can be counted *once per session* without reading raw signals again: a
session is counted in ``pattern:hesitant`` when its best hesitant score first crosses
:data:`THRESHOLD`, in ``funnel:add_to_cart`` when the action first appears in it, and so on.

Two kinds of rows come out, merged per writer group:

* **aggregates** ``(site, hour, cell) → n, total`` — counts and sums, no visitor;
* **reach** ``(site, hour, visitor) → bitmap`` — which cells (:mod:`server.report.cells`)
  this visitor touched in that hour, so the report can count distinct visitors per cell for
  the k-anonymity rule. Erasing a visitor deletes their reach rows; the anonymous sums stay.

Cost is what decides the shape (``bench/report.py``, rollups on vs off): only what the batch
observed can change between the two profiles, so :meth:`RollupBuffer.add` looks at the
batch's observations, not at every pattern, counter and tone of the profile; a visitor's
cells of an hour are one row (a bitmap ORed in place), not one row per cell.
"""

from __future__ import annotations

from typing import Final

from rapport.client_py.schema import PATTERNS, TONES, TOPICS
from rapport.server.profiles import Observations, Profile
from rapport.server.profiles.model import PURCHASE_ACTIONS
from rapport.server.report.cells import BIT, bucket
from rapport.server.scoring.model import prior_model, probabilities
from rapport.server.storage.base import IngestBatch

__all__ = [
    "FRICTION_COUNTERS",
    "FUNNEL_STEPS",
    "THRESHOLD",
    "ReachCache",
    "RollupBuffer",
]

#: A session "has" a pattern (or a chat tone) once its score reaches this.
THRESHOLD: Final = 0.5
#: Session counters shown as friction.
FRICTION_COUNTERS: Final = ("rage_clicks", "dead_clicks", "quick_backs", "hovers_without_click")
#: The funnel: a session is a view; then the site's add_to_cart and purchase actions.
FUNNEL_STEPS: Final = ("view", "add_to_cart", "purchase")
_PATTERNS: Final = frozenset(PATTERNS)
_VISIT: Final = BIT["visit"]
_LOOPS: Final = "price_returns_loops"
#: Scores are bucketed with the transparent prior models, the same for every site and over
#: time: a site's retrained model changes its hints, not the history of this panel.
#: Only the features the two priors weigh are read (the other five cost as much again).
_SCORES: Final = probabilities(prior_model("conversion"), prior_model("abandon"))
_LEAD_BITS: Final = tuple(BIT[f"lead:{i}"] for i in range(5))
_ABANDON_BITS: Final = tuple(BIT[f"abandon:{i}"] for i in range(5))
ReachKey = tuple[int, int, str]
"""``(site_id, hour, visitor)``."""


Cell = tuple[str, int]
"""A cell's name and its reach bit (0 for a cell without one)."""
Counts = dict[str, int]
"""One (site, hour)'s cells → how many times counted (``n``)."""
Totals = dict[str, float]
"""One (site, hour)'s cells with a sum → the sum (``total``; the rest are 0)."""


def _cell(name: str) -> Cell:
    return name, BIT.get(name, 0)


# Every cell the parts below count, named once with its bit, instead of an f-string and a
# lookup of its bit per counted cell per batch.
_PATTERN_CELL: Final = {p: _cell(f"pattern:{p}") for p in PATTERNS}
_OVERLAP_CELL: Final = {
    (p, q): _cell("overlap:{}+{}".format(*sorted((p, q)))) for p in PATTERNS for q in PATTERNS
}
_FUNNEL_CELL: Final = {step: _cell(f"funnel:{step}") for step in FUNNEL_STEPS}
_FUNNEL_PATTERN_CELL: Final = {
    step: {p: _cell(f"funnel:{step}|{p}") for p in PATTERNS} for step in FUNNEL_STEPS
}
_COUNTER_CELL: Final = {n: _cell(f"friction:{n}") for n in FRICTION_COUNTERS}
_LOOPS_CELL: Final = _cell(f"friction:{_LOOPS}")
_SESSION_BIT: Final = BIT["session"]
_CAMERA_CELL: Final = ("camera", 0)
"""Counted per window; the reach bit of ``camera`` is set with the section's (below)."""
_CAMERA_BIT: Final = BIT["camera"]
_CAMERA_SESSION_CELL: Final = _cell("camera_session")


_TONE_CELL: Final = {t: _cell(f"tone:{t}") for t in TONES}
_TOPIC_CELL: Final = {t: _cell(f"topic:{t}") for t in TOPICS}


def _one(counts: Counts, cell: Cell) -> int:
    """Count ``cell`` once; its reach bit. (The hottest counts are written out inline.)"""
    name = cell[0]
    counts[name] = counts.get(name, 0) + 1
    return cell[1]


def _add(counts: Counts, totals: Totals, cell: Cell, n: int, total: float) -> int:
    """Add ``n`` and ``total`` to ``cell``; its reach bit."""
    name = cell[0]
    counts[name] = counts.get(name, 0) + n
    totals[name] = totals.get(name, 0.0) + total
    return cell[1]


class ReachCache:
    """Reach bits this process committed, so a busy visitor's every batch does not rewrite its
    hour's row (the OR is idempotent anyway; this only saves the writer work). Cleared when it
    grows past ``limit``."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._bits: dict[ReachKey, int] = {}

    @property
    def bits(self) -> dict[ReachKey, int]:
        """The committed bits by key (read-only for callers; the same dict for the cache's
        life, so a buffer may hold on to it)."""
        return self._bits

    def remember(self, rows: dict[ReachKey, int]) -> None:
        """Record committed bits (only after the commit)."""
        if len(self._bits) + len(rows) > self._limit:
            self._bits.clear()
        for key, bits in rows.items():
            self._bits[key] = self._bits.get(key, 0) | bits

    def forget(self, site_id: int, visitor: str) -> None:
        """Drop a visitor's keys (after an erase, so new rows are written again)."""
        for key in [k for k in self._bits if k[0] == site_id and k[2] == visitor]:
            del self._bits[key]


class RollupBuffer:
    """Collects one writer group's rollup rows; :meth:`add` once per newly stored batch."""

    def __init__(self, cache: ReachCache | None = None) -> None:
        self._cache = cache
        self._known: dict[ReachKey, int] = cache.bits if cache is not None else {}
        self._hours: dict[tuple[int, int], tuple[Counts, Totals]] = {}
        self._reach: dict[ReachKey, int] = {}

    def __bool__(self) -> bool:
        return bool(self._reach)  # every counted batch also has reach bits

    def aggregate_rows(self) -> list[tuple[int, int, str, int, float]]:
        """``(site_id, hour, cell, n, total)``, one per cell touched by the group."""
        return [
            (s, h, cell, n, float(totals.get(cell, 0.0)))
            for (s, h), (counts, totals) in self._hours.items()
            for cell, n in counts.items()
        ]

    def reach_rows(self) -> list[tuple[int, int, str, int]]:
        """``(site_id, hour, visitor, bits)`` with bits this process has not committed yet."""
        known = self._known
        rows = []
        for key, bits in sorted(self._reach.items()):
            if new := bits & ~known.get(key, 0):
                rows.append((*key, new))
        return rows

    def hours(self) -> set[tuple[int, int]]:
        """``(site_id, hour)`` of every row this group writes (each batch :meth:`add` counts
        also has reach bits in its hour)."""
        return set(self._hours)

    def mark_written(self) -> None:
        """Tell the cache that this group's reach rows are committed."""
        if self._cache is not None:
            self._cache.remember(self._reach)

    def add(self, batch: IngestBatch, before: Profile, after: Profile) -> None:
        """Count what ``batch`` changed between the visitor's two profiles.

        Only what the batch observed can differ between the two profiles of one session, so
        each part walks the batch's observations, not the profile.
        """
        obs = batch.observations
        if obs.server_side:
            return
        site, hour, session = batch.site_id, int(batch.received_at // 3600), batch.session
        slot = self._hours.get((site, hour))
        if slot is None:
            slot = self._hours[(site, hour)] = ({}, {})
        counts, totals = slot
        same = before.current.id == session
        bits = _VISIT | obs.section_bits
        if not same:
            counts["session"] = counts.get("session", 0) + 1
            bits |= _SESSION_BIT
        key = (site, hour, batch.visitor)
        reach = self._reach
        known = reach.get(key, 0) | self._known.get(key, 0)
        crossed: list[str] = []
        if after.current.id == session:  # False when the batch carried no observations
            if obs.patterns:
                reports, history = before.current.reports, before.pattern_history
                for p, score in obs.patterns.items():
                    # The session's best is the history's last entry, the max of the one
                    # before and this score: it crossed only if this score reached the
                    # threshold and the best before it (if it was reported) had not.
                    if (
                        score >= THRESHOLD
                        and p in _PATTERNS
                        and (
                            not same
                            or p not in reports
                            or not (was := history.get(p))
                            or was[-1] < THRESHOLD
                        )
                    ):
                        crossed.append(p)
            if crossed or obs.actions or not same:
                bits |= _patterns(counts, before, after, session, same, crossed)
            if obs.counters or obs.evidence:
                bits |= _friction(counts, totals, obs, before, after, same)
            if obs.tones or obs.topics:
                bits |= _chat(counts, totals, obs, before, after, same)
        if obs.affect:
            bits |= _affect(counts, totals, obs, before, same)
        if not known & _VISIT or crossed or "add_to_cart" in obs.actions:
            # Scored when the visitor arrives in an hour and when what moves a score most
            # happens (a pattern crossing, add to cart): two model evaluations per batch
            # would cost as much as the profile update itself (bench/report.py).
            lead, abandon = _SCORES(after, batch.received_at)
            bits |= _LEAD_BITS[bucket(lead)] | _ABANDON_BITS[bucket(abandon)]
        reach[key] = reach.get(key, 0) | bits


# -- the parts: functions of the hour's counts, each run only for a batch that observed what
# -- it counts. The hottest counts are written out inline (``counts[name] = … + 1``): a call
# -- per counted cell was a tenth of the rollups' time (bench/report.py). -------------------


def _patterns(
    counts: Counts, before: Profile, after: Profile, session: str, same: bool, crossed: list[str]
) -> int:
    """Patterns that crossed, their overlaps, and the funnel steps split by pattern."""
    bits = 0
    history = after.pattern_history
    # The session's patterns at or above the threshold now; ``crossed`` is among them.
    now = []
    for p in after.current.reports:  # also "tone:…" keys, which are not patterns
        if p in _PATTERNS and (h := history.get(p)) and h[-1] >= THRESHOLD:
            now.append(p)
    for p in crossed:
        name, bit = _PATTERN_CELL[p]
        counts[name] = counts.get(name, 0) + 1
        bits |= bit
        for q in now:
            # A pair that crossed together is counted once (by its later pattern).
            if q != p and (q not in crossed or q < p):
                name, bit = _OVERLAP_CELL[(p, q)]
                counts[name] = counts.get(name, 0) + 1
                bits |= bit
    # A session is always a view; its add_to_cart and purchase steps come with actions.
    if crossed or not same:
        bits |= _step(counts, "view", same, now, crossed)
    actions = after.actions.get(session)
    if actions:
        old = before.actions.get(session, ()) if same else ()
        if "add_to_cart" in actions:
            bits |= _step(counts, "add_to_cart", "add_to_cart" in old, now, crossed)
        if not PURCHASE_ACTIONS.isdisjoint(actions):
            reached = bool(old) and not PURCHASE_ACTIONS.isdisjoint(old)
            bits |= _step(counts, "purchase", reached, now, crossed)
    return bits


def _step(
    counts: Counts, step: str, reached_before: bool, now: list[str], crossed: list[str]
) -> int:
    """A funnel step the session is at: counted when first reached, with every pattern it
    has; a step reached before gets only the patterns that just crossed."""
    cells = _FUNNEL_PATTERN_CELL[step]
    bits = 0
    if not reached_before:
        bits |= _one(counts, _FUNNEL_CELL[step])
    for p in now if not reached_before else crossed:
        name, bit = cells[p]
        counts[name] = counts.get(name, 0) + 1
        bits |= bit
    return bits


def _friction(
    counts: Counts, totals: Totals, obs: Observations, before: Profile, after: Profile, same: bool
) -> int:
    bits = 0
    new_counters, old_counters = after.current.counters, before.current.counters
    for name in obs.counters:  # only the batch's counters can have grown
        cell = _COUNTER_CELL.get(name)
        if cell is not None:
            old = old_counters.get(name, 0) if same else 0
            new = new_counters.get(name, 0)
            if new > old:
                bits |= _add(counts, totals, cell, 1 if old == 0 else 0, float(new - old))
    for features in obs.evidence.values():
        if _LOOPS in features:
            return bits | _loops(counts, before, after, same)
    return bits


def _loops(counts: Counts, before: Profile, after: Profile, same: bool) -> int:
    """The session's first price↔returns loop (only a batch with loop evidence can make
    one: the evidence of other patterns and features is merged in, not replaced)."""
    loops_after = max((f.get(_LOOPS, 0.0) for f in after.current.evidence.values()), default=0.0)
    if loops_after <= 0:
        return 0
    if same:
        old = before.current.evidence.values()
        if max((f.get(_LOOPS, 0.0) for f in old), default=0.0) > 0:
            return 0
    return _one(counts, _LOOPS_CELL)


def _chat(
    counts: Counts, totals: Totals, obs: Observations, before: Profile, after: Profile, same: bool
) -> int:
    bits = 0
    tones, topics = after.current.tones, after.current.topics
    for tone in obs.tones:
        old = before.current.tones.get(tone, 0.0) if same else 0.0
        if tones.get(tone, 0.0) >= THRESHOLD > old:
            name, bit = _TONE_CELL.get(tone) or _cell(f"tone:{tone}")
            counts[name] = counts.get(name, 0) + 1
            bits |= bit
    for topic in obs.topics:
        old_count = before.current.topics.get(topic, 0) if same else 0
        count = topics.get(topic, 0)
        if count > old_count:
            cell = _TOPIC_CELL.get(topic) or _cell(f"topic:{topic}")
            bits |= _add(counts, totals, cell, 1 if old_count == 0 else 0, float(count - old_count))
    return bits


def _affect(counts: Counts, totals: Totals, obs: Observations, before: Profile, same: bool) -> int:
    """Camera windows (each counted) and the session's first one."""
    bits = 0
    for window in obs.affect:  # one window of a consenting visitor
        section = window.section or "page"
        _one(counts, _CAMERA_CELL)
        bits |= _one(counts, _cell(f"affect:{section}")) | _CAMERA_BIT
        if window.valence is not None:
            cell = _cell(f"valence:{section}")
            bits |= _add(counts, totals, cell, 1, float(window.valence))
        if window.dominant:
            bits |= _one(counts, _cell(f"affect:{section}:{window.dominant}"))
    seen = before.current.affect if same else None
    if seen is None or seen.windows + seen.ignored == 0:
        bits |= _one(counts, _CAMERA_SESSION_CELL)
    return bits
