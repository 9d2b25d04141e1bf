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

from rapport.client_py.schema import PATTERNS
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


def _steps(profile: Profile, session: str) -> set[str]:
    actions = profile.actions.get(session, ())
    steps = {"view"}
    if "add_to_cart" in actions:
        steps.add("add_to_cart")
    if not PURCHASE_ACTIONS.isdisjoint(actions):
        steps.add("purchase")
    return steps


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
        self._obs = Observations()

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

    def _count(self, key: tuple[int, int, str], n: int, total: float = 0.0) -> None:
        slot = self._agg.get(key)
        if slot is None:
            self._agg[key] = [n, total]
        else:
            slot[0] += n
            slot[1] += total

    def add(self, batch: IngestBatch, before: Profile, after: Profile) -> None:
        """Count what ``batch`` changed between the visitor's two profiles."""
        obs = self._obs = batch.observations
        if obs.server_side:
            return
        site, hour, session = batch.site_id, int(batch.received_at // 3600), batch.session
        same = before.current.id == session
        live = after.current.id == session  # False when the batch carried no observations
        bits = _VISIT
        if not same:
            bits |= BIT["session"]
            self._count((site, hour, "session"), 1)
        key = (site, hour, batch.visitor)
        known = self._reach.get(key, 0) | (self._cache.known(key) if self._cache else 0)
        crossed: list[str] = []
        if live:
            crossed = [
                p
                for p in obs.patterns
                if p in _PATTERNS
                and _best(after, p) >= THRESHOLD > (_best(before, p) if same else 0.0)
            ]
            if crossed or obs.actions or not same:
                bits |= self._patterns(site, hour, before, after, session, same, crossed)
            if obs.counters or obs.evidence:
                bits |= self._friction(site, hour, before, after, same)
            if obs.tones or obs.topics:
                bits |= self._chat(site, hour, before, after, same)
        bits |= self._signals(batch, hour, before, same)
        if not known & _VISIT or crossed or "add_to_cart" in obs.actions:
            # Scored when the visitor arrives in an hour and when what moves a score most
            # happens (a pattern crossing, add to cart): two model evaluations per batch
            # would cost as much as the profile update itself (bench/report.py).
            lead, abandon = _SCORES(after, batch.received_at)
            bits |= _LEAD_BITS[bucket(lead)] | _ABANDON_BITS[bucket(abandon)]
        self._reach[key] = self._reach.get(key, 0) | bits

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
        now = {p for p in after.current.reports if p in _PATTERNS and _best(after, p) >= THRESHOLD}
        was = now.difference(crossed)
        for p in sorted(crossed):
            cell = f"pattern:{p}"
            self._count((site, hour, cell), 1)
            bits |= BIT[cell]
            for q in sorted(now - {p}):
                if q in was or q < p:  # a pair that crossed together is counted once
                    a, b = sorted((p, q))
                    cell = f"overlap:{a}+{b}"
                    self._count((site, hour, cell), 1)
                    bits |= BIT[cell]
        steps_was = _steps(before, session) if same else set()
        steps_now = _steps(after, session)
        for step in FUNNEL_STEPS:
            if step not in steps_now:
                continue
            if step not in steps_was:
                cell = f"funnel:{step}"
                self._count((site, hour, cell), 1)
                bits |= BIT[cell]
            for p in now:
                if not (step in steps_was and p in was):
                    cell = f"funnel:{step}|{p}"
                    self._count((site, hour, cell), 1)
                    bits |= BIT[cell]
        return bits

    def _friction(self, site: int, hour: int, before: Profile, after: Profile, same: bool) -> int:
        bits = 0
        for name in after.current.counters.keys() & _FRICTION:
            old = before.current.counters.get(name, 0) if same else 0
            new = after.current.counters.get(name, 0)
            if new > old:
                cell = f"friction:{name}"
                self._count((site, hour, cell), 1 if old == 0 else 0, float(new - old))
                bits |= BIT[cell]
        evidence = after.current.evidence
        loops_after = max((f.get(_LOOPS, 0.0) for f in evidence.values()), default=0.0)
        if loops_after > 0:
            loops_before = (
                max((f.get(_LOOPS, 0.0) for f in before.current.evidence.values()), default=0.0)
                if same
                else 0.0
            )
            if loops_before <= 0:
                cell = f"friction:{_LOOPS}"
                self._count((site, hour, cell), 1)
                bits |= BIT[cell]
        return bits

    def _chat(self, site: int, hour: int, before: Profile, after: Profile, same: bool) -> int:
        bits = 0
        obs_tones, obs_topics = after.current.tones, after.current.topics
        for tone in self._obs.tones:
            old = before.current.tones.get(tone, 0.0) if same else 0.0
            if obs_tones.get(tone, 0.0) >= THRESHOLD > old:
                cell = f"tone:{tone}"
                self._count((site, hour, cell), 1)
                bits |= BIT.get(cell, 0)
        for topic in self._obs.topics:
            old = before.current.topics.get(topic, 0) if same else 0
            count = obs_topics.get(topic, 0)
            if count > old:
                cell = f"topic:{topic}"
                self._count((site, hour, cell), 1 if old == 0 else 0, float(count - old))
                bits |= BIT.get(cell, 0)
        return bits

    def _signals(self, batch: IngestBatch, hour: int, before: Profile, same: bool) -> int:
        bits = 0
        for pair in batch.observations.sections:
            bits |= _SECTION_BIT.get(pair, 0)
        if not batch.observations.affect:
            return bits
        site = batch.site_id
        for window in batch.observations.affect:  # one window of a consenting visitor
            section = window.section or "page"
            self._count((site, hour, "camera"), 1)
            cell = f"affect:{section}"
            self._count((site, hour, cell), 1)
            bits |= BIT["camera"] | BIT.get(cell, 0)
            if window.valence is not None:
                cell = f"valence:{section}"
                self._count((site, hour, cell), 1, float(window.valence))
                bits |= BIT.get(cell, 0)
            if window.dominant:
                cell = f"affect:{section}:{window.dominant}"
                self._count((site, hour, cell), 1)
                bits |= BIT.get(cell, 0)
        seen = before.current.affect if same else None
        if seen is None or seen.windows + seen.ignored == 0:
            self._count((site, hour, "camera_session"), 1)
            bits |= BIT["camera_session"]
        return bits
