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
_FRICTION: Final = frozenset(FRICTION_COUNTERS)
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


#: The reach bit of a (section, "dwell" or event name) pair the batch observed.
_SECTION_BIT: Final = {
    (cell.split(":")[1], cell.split(":")[2]): bit
    for cell, bit in BIT.items()
    if cell.startswith("section:")
}
Cell = tuple[str, int]
"""A cell's name and its reach bit (0 for a cell without one)."""


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
    (step, p): _cell(f"funnel:{step}|{p}") for step in FUNNEL_STEPS for p in PATTERNS
}
_FRICTION_CELL: Final = {n: _cell(f"friction:{n}") for n in (*FRICTION_COUNTERS, _LOOPS)}
_SESSION_CELL: Final = _cell("session")
_CAMERA_CELL: Final = ("camera", 0)
"""Counted per window; the reach bit of ``camera`` is set with the section's (below)."""
_CAMERA_BIT: Final = BIT["camera"]
_CAMERA_SESSION_CELL: Final = _cell("camera_session")


_TONE_CELL: Final = {t: _cell(f"tone:{t}") for t in TONES}
_TOPIC_CELL: Final = {t: _cell(f"topic:{t}") for t in TOPICS}


def _tone_cell(tone: str) -> Cell:
    return _TONE_CELL.get(tone) or _cell(f"tone:{tone}")


def _topic_cell(topic: str) -> Cell:
    return _TOPIC_CELL.get(topic) or _cell(f"topic:{topic}")


class ReachCache:
    """Reach bits this process committed, so a busy visitor's every batch does not rewrite its
    hour's row (the OR is idempotent anyway; this only saves the writer work). Cleared when it
    grows past ``limit``."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._bits: dict[ReachKey, int] = {}

    def known(self, key: ReachKey) -> int:
        """The bits of ``key`` already committed by this process."""
        return self._bits.get(key, 0)

    def remember(self, rows: dict[ReachKey, int]) -> None:
        """Record committed bits (only after the commit)."""
        if len(self._bits) + len(rows) > self._limit:
            self._bits.clear()
        for key, bits in rows.items():
            self._bits[key] = self._bits.get(key, 0) | bits

    def forget(self, site_id: int, visitor: str) -> None:
        """Drop a visitor's keys (after an erase, so new rows are written again)."""
        self._bits = {k: v for k, v in self._bits.items() if k[0] != site_id or k[2] != visitor}


def _steps(profile: Profile, session: str) -> tuple[bool, bool, bool]:
    """Which :data:`FUNNEL_STEPS` the session reached (a session is always a view)."""
    actions = profile.actions.get(session, ())
    return True, "add_to_cart" in actions, not PURCHASE_ACTIONS.isdisjoint(actions)


def _best(profile: Profile, pattern: str) -> float:
    """The current session's best score for ``pattern`` (0 when it never reported it)."""
    if pattern not in profile.current.reports:
        return 0.0
    history = profile.pattern_history.get(pattern)
    return history[-1] if history else 0.0


class RollupBuffer:
    """Collects one writer group's rollup rows; :meth:`add` once per newly stored batch."""

    def __init__(self, cache: ReachCache | None = None) -> None:
        self._cache = cache
        self._agg: dict[tuple[int, int, str], list[float]] = {}
        self._reach: dict[ReachKey, int] = {}

    def __bool__(self) -> bool:
        return bool(self._agg or self._reach)

    def aggregate_rows(self) -> list[tuple[int, int, str, int, float]]:
        """``(site_id, hour, cell, n, total)``, one per cell touched by the group."""
        return [(s, h, c, int(v[0]), float(v[1])) for (s, h, c), v in self._agg.items()]

    def reach_rows(self) -> list[tuple[int, int, str, int]]:
        """``(site_id, hour, visitor, bits)`` with bits this process has not committed yet."""
        cache = self._cache
        rows = []
        for key, bits in sorted(self._reach.items()):
            new = bits & ~cache.known(key) if cache is not None else bits
            if new:
                rows.append((*key, new))
        return rows

    def hours(self) -> set[tuple[int, int]]:
        """``(site_id, hour)`` of every row this group writes."""
        return {k[:2] for k in self._agg} | {k[:2] for k in self._reach}

    def mark_written(self) -> None:
        """Tell the cache that this group's reach rows are committed."""
        if self._cache is not None:
            self._cache.remember(self._reach)

    def _count(self, site: int, hour: int, cell: Cell, n: int, total: float = 0.0) -> int:
        """Add to ``cell``'s aggregate; its reach bit."""
        key = (site, hour, cell[0])
        slot = self._agg.get(key)
        if slot is None:
            self._agg[key] = [n, total]
        else:
            slot[0] += n
            slot[1] += total
        return cell[1]

    def add(self, batch: IngestBatch, before: Profile, after: Profile) -> None:
        """Count what ``batch`` changed between the visitor's two profiles.

        Only what the batch observed can differ between the two profiles of one session, so
        each part walks the batch's observations, not the profile.
        """
        obs = batch.observations
        if obs.server_side:
            return
        site, hour, session = batch.site_id, int(batch.received_at // 3600), batch.session
        same = before.current.id == session
        live = after.current.id == session  # False when the batch carried no observations
        bits = _VISIT
        if not same:
            bits |= self._count(site, hour, _SESSION_CELL, 1)
        key = (site, hour, batch.visitor)
        reach = self._reach
        known = reach.get(key, 0) | (self._cache.known(key) if self._cache else 0)
        crossed: list[str] = []
        if live:
            if obs.patterns:
                history = after.pattern_history
                for p in obs.patterns:
                    # Reported by this batch, so in the session's reports: its best is the
                    # history's last entry.
                    h = history.get(p)
                    if (
                        h
                        and h[-1] >= THRESHOLD
                        and p in _PATTERNS
                        and (not same or _best(before, p) < THRESHOLD)
                    ):
                        crossed.append(p)
            if crossed or obs.actions or not same:
                bits |= self._patterns(site, hour, before, after, session, same, crossed)
            if obs.counters or obs.evidence:
                bits |= self._friction(site, hour, obs, before, after, same)
            if obs.tones or obs.topics:
                bits |= self._chat(site, hour, obs, before, after, same)
        for pair in obs.sections:
            bits |= _SECTION_BIT.get(pair, 0)
        if obs.affect:
            bits |= self._affect(batch, hour, before, same)
        if not known & _VISIT or crossed or "add_to_cart" in obs.actions:
            # Scored when the visitor arrives in an hour and when what moves a score most
            # happens (a pattern crossing, add to cart): two model evaluations per batch
            # would cost as much as the profile update itself (bench/report.py).
            lead, abandon = _SCORES(after, batch.received_at)
            bits |= _LEAD_BITS[bucket(lead)] | _ABANDON_BITS[bucket(abandon)]
        reach[key] = reach.get(key, 0) | bits

    # -- the parts ------------------------------------------------------------------------

    def _patterns(
        self,
        site: int,
        hour: int,
        before: Profile,
        after: Profile,
        session: str,
        same: bool,
        crossed: list[str],
    ) -> int:
        bits = 0
        history = after.pattern_history
        now = set()
        for p in after.current.reports:  # also "tone:…" keys, which are not patterns
            h = history.get(p)
            if h and h[-1] >= THRESHOLD and p in _PATTERNS:
                now.add(p)
        was = now.difference(crossed)
        for p in crossed:
            bits |= self._count(site, hour, _PATTERN_CELL[p], 1)
            for q in now:
                # A pair that crossed together is counted once (by its later pattern).
                if q != p and (q in was or q < p):
                    bits |= self._count(site, hour, _OVERLAP_CELL[(p, q)], 1)
        steps_was = _steps(before, session) if same else (False, False, False)
        for step, reached, reached_before in zip(
            FUNNEL_STEPS, _steps(after, session), steps_was, strict=True
        ):
            if not reached:
                continue
            if not reached_before:
                bits |= self._count(site, hour, _FUNNEL_CELL[step], 1)
            for p in now:
                if not (reached_before and p in was):
                    bits |= self._count(site, hour, _FUNNEL_PATTERN_CELL[(step, p)], 1)
        return bits

    def _friction(
        self,
        site: int,
        hour: int,
        obs: Observations,
        before: Profile,
        after: Profile,
        same: bool,
    ) -> int:
        bits = 0
        counters, old_counters = after.current.counters, before.current.counters
        for name in obs.counters:  # only the batch's counters can have grown
            if name in _FRICTION:
                old = old_counters.get(name, 0) if same else 0
                new = counters.get(name, 0)
                if new > old:
                    cell = _FRICTION_CELL[name]
                    bits |= self._count(site, hour, cell, 1 if old == 0 else 0, float(new - old))
        for features in obs.evidence.values():
            if _LOOPS in features:
                bits |= self._loops(site, hour, before, after, same)
                break
        return bits

    def _loops(self, site: int, hour: int, before: Profile, after: Profile, same: bool) -> int:
        """The session's first price↔returns loop (only a batch with loop evidence can make
        one: the evidence of other patterns and features is merged in, not replaced)."""
        loops_after = max(
            (f.get(_LOOPS, 0.0) for f in after.current.evidence.values()), default=0.0
        )
        if loops_after <= 0:
            return 0
        if same:
            old = before.current.evidence.values()
            if max((f.get(_LOOPS, 0.0) for f in old), default=0.0) > 0:
                return 0
        return self._count(site, hour, _FRICTION_CELL[_LOOPS], 1)

    def _chat(
        self,
        site: int,
        hour: int,
        obs: Observations,
        before: Profile,
        after: Profile,
        same: bool,
    ) -> int:
        bits = 0
        tones, topics = after.current.tones, after.current.topics
        for tone in obs.tones:
            old = before.current.tones.get(tone, 0.0) if same else 0.0
            if tones.get(tone, 0.0) >= THRESHOLD > old:
                bits |= self._count(site, hour, _tone_cell(tone), 1)
        for topic in obs.topics:
            old_count = before.current.topics.get(topic, 0) if same else 0
            count = topics.get(topic, 0)
            if count > old_count:
                cell = _topic_cell(topic)
                bits |= self._count(
                    site, hour, cell, 1 if old_count == 0 else 0, float(count - old_count)
                )
        return bits

    def _affect(self, batch: IngestBatch, hour: int, before: Profile, same: bool) -> int:
        bits = 0
        site = batch.site_id
        for window in batch.observations.affect:  # one window of a consenting visitor
            section = window.section or "page"
            self._count(site, hour, _CAMERA_CELL, 1)
            bits |= self._count(site, hour, _cell(f"affect:{section}"), 1) | _CAMERA_BIT
            if window.valence is not None:
                cell = _cell(f"valence:{section}")
                bits |= self._count(site, hour, cell, 1, float(window.valence))
            if window.dominant:
                bits |= self._count(site, hour, _cell(f"affect:{section}:{window.dominant}"), 1)
        seen = before.current.affect if same else None
        if seen is None or seen.windows + seen.ignored == 0:
            bits |= self._count(site, hour, _CAMERA_SESSION_CELL, 1)
        return bits
