"""What one stored batch adds to the report's hourly rollups (pure; the writer calls it).

The writer knows each batch's visitor profile before and after the batch, so every number the
dashboard needs can be counted *once per session* without reading raw signals again: a
session is counted in ``pattern:hesitant`` when its best hesitant score first crosses
:data:`THRESHOLD`, in ``funnel:add_to_cart`` when the action first appears in it, and so on.

Two kinds of rows come out, merged per writer group:

* **aggregates** ``(site, hour, cell) → n, total`` — counts and sums, no visitor;
* **reach** ``(site, hour, cell, visitor)`` — that this visitor touched the cell in that hour,
  so the report can count distinct visitors per cell for the k-anonymity rule. Erasing a
  visitor deletes their reach rows; the anonymous sums stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol

import msgspec

from client_py.schema import PATTERNS, TONES
from server.profiles import Profile
from server.profiles.model import PURCHASE_ACTIONS
from server.storage.base import IngestBatch

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
#: Signal kinds whose JSON the rollup reads (everything else comes from the profile).
_READ_KINDS: Final = frozenset({"affect", "section_event", "dwell"})
_decoder = msgspec.json.Decoder(dict[str, object])


class ReachCache:
    """Reach keys this process wrote recently, so a busy visitor's every batch does not write
    the same ``(hour, cell, visitor)`` row again (the insert is idempotent anyway; this only
    saves the writer work). Cleared when the hour changes or it grows past ``limit``."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._hour = -1
        self._seen: set[tuple[int, int, str, str]] = set()

    def known(self, key: tuple[int, int, str, str]) -> bool:
        """Whether ``key`` was committed by this process this hour."""
        return key in self._seen

    def remember(self, keys: Iterable[tuple[int, int, str, str]]) -> None:
        """Record committed keys (only after the commit)."""
        for key in keys:
            if key[1] != self._hour or len(self._seen) >= self._limit:
                if key[1] < self._hour:
                    continue  # a late batch of the previous hour: not worth a reset
                self._seen.clear()
                self._hour = key[1]
            self._seen.add(key)

    def forget(self, site_id: int, visitor: str) -> None:
        """Drop a visitor's keys (after an erase, so new rows are written again)."""
        self._seen = {k for k in self._seen if k[0] != site_id or k[3] != visitor}


def _session_best(profile: Profile, session: str, pattern: str) -> float:
    """The session's best score for ``pattern`` so far (0 when it never reported it)."""
    current = profile.current
    if current.id != session or pattern not in current.reports:
        return 0.0
    history = profile.pattern_history.get(pattern)
    return history[-1] if history else 0.0


def _same_session(profile: Profile, session: str) -> bool:
    return profile.current.id == session


def _steps(profile: Profile, session: str) -> set[str]:
    if not _same_session(profile, session):
        return set()
    actions = profile.session_actions(session)
    steps = {"view"}
    if "add_to_cart" in actions:
        steps.add("add_to_cart")
    if actions & PURCHASE_ACTIONS:
        steps.add("purchase")
    return steps


class RollupBuffer:
    """Collects one writer group's rollup rows; :meth:`add` once per newly stored batch."""

    def __init__(self, cache: ReachCache | None = None) -> None:
        self._cache = cache
        self._agg: dict[tuple[int, int, str], list[float]] = {}
        self._reach: set[tuple[int, int, str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self._agg or self._reach)

    def aggregate_rows(self) -> list[tuple[int, int, str, int, float]]:
        """``(site_id, hour, cell, n, total)``, one per cell touched by the group."""
        return [(s, h, c, int(v[0]), float(v[1])) for (s, h, c), v in self._agg.items()]

    def reach_rows(self) -> list[tuple[int, int, str, str]]:
        """``(site_id, hour, cell, visitor)``, not yet written by this process this hour."""
        rows = sorted(self._reach)
        if self._cache is None:
            return rows
        return [row for row in rows if not self._cache.known(row)]

    def mark_written(self) -> None:
        """Tell the cache that this group's reach rows are committed."""
        if self._cache is not None:
            self._cache.remember(self._reach)

    def add(self, batch: IngestBatch, before: Profile, after: Profile) -> None:
        """Count what ``batch`` changed between the visitor's two profiles."""
        if batch.observations.server_side:
            return
        site, hour, visitor, session = (
            batch.site_id,
            int(batch.received_at // 3600),
            batch.visitor,
            batch.session,
        )

        def count(cell: str, n: int = 1, total: float = 0.0) -> None:
            slot = self._agg.setdefault((site, hour, cell), [0, 0.0])
            slot[0] += n
            slot[1] += total
            self._reach.add((site, hour, cell, visitor))

        count("visit", 0)
        same = _same_session(before, session)
        if not same:
            count("session")
        self._patterns(before, after, session, count)
        self._friction(before, after, session, same, count)
        self._chat(before, after, session, same, count)
        self._signals(batch.signals, count)

    # -- the parts ------------------------------------------------------------------------

    @staticmethod
    def _patterns(before: Profile, after: Profile, session: str, count: _Count) -> None:
        was = {p for p in PATTERNS if _session_best(before, session, p) >= THRESHOLD}
        now = {p for p in PATTERNS if _session_best(after, session, p) >= THRESHOLD}
        crossed = now - was
        for p in sorted(crossed):
            count(f"pattern:{p}")
            for q in sorted(now - {p}):
                if q in was or q < p:  # a pair that crossed together is counted once
                    a, b = sorted((p, q))
                    count(f"overlap:{a}+{b}")
        steps_was, steps_now = _steps(before, session), _steps(after, session)
        for step in FUNNEL_STEPS:
            if step in steps_now and step not in steps_was:
                count(f"funnel:{step}")
            for p in sorted(now):
                if step in steps_now and not (step in steps_was and p in was):
                    count(f"funnel:{step}|{p}")

    @staticmethod
    def _friction(before: Profile, after: Profile, session: str, same: bool, count: _Count) -> None:
        for name in FRICTION_COUNTERS:
            old = before.current.counters.get(name, 0) if same else 0
            new = after.current.counters.get(name, 0) if _same_session(after, session) else 0
            if new > old:
                count(f"friction:{name}", 1 if old == 0 else 0, float(new - old))
        loops_before = (
            max((f.get("price_returns_loops", 0.0) for f in before.current.evidence.values()),
                default=0.0) if same else 0.0
        )  # fmt: skip
        loops_after = max(
            (f.get("price_returns_loops", 0.0) for f in after.current.evidence.values()),
            default=0.0,
        )
        if loops_after > 0 >= loops_before:
            count("friction:price_returns_loops")

    @staticmethod
    def _chat(before: Profile, after: Profile, session: str, same: bool, count: _Count) -> None:
        if not _same_session(after, session):
            return
        for tone in TONES:
            old = before.current.tones.get(tone, 0.0) if same else 0.0
            if after.current.tones.get(tone, 0.0) >= THRESHOLD > old:
                count(f"tone:{tone}")
        for topic, new in after.current.topics.items():
            old = before.current.topics.get(topic, 0) if same else 0
            if new > old:
                count(f"topic:{topic}", 1 if old == 0 else 0, float(new - old))

    @staticmethod
    def _signals(signals: Iterable[object], count: _Count) -> None:
        for signal in signals:
            kind = getattr(signal, "kind", "")
            if kind not in _READ_KINDS:
                continue
            body = _decoder.decode(getattr(signal, "body", "{}"))
            section = str(body.get("section") or "page")
            if kind == "dwell":
                count(f"section:{section}:dwell", 0)
            elif kind == "section_event":
                count(f"section:{section}:{body.get('name')}", 0)
            else:  # affect: one window of a consenting visitor
                count("camera")
                count(f"affect:{section}")
                valence = body.get("valence")
                if isinstance(valence, int | float):
                    count(f"valence:{section}", 1, float(valence))
                if dominant := body.get("dominant"):
                    count(f"affect:{section}:{dominant}")


class _Count(Protocol):
    """The signature of ``count(cell, n=1, total=0.0)`` inside :meth:`RollupBuffer.add`."""

    def __call__(self, cell: str, n: int = 1, total: float = 0.0) -> None: ...
