"""Past days' rollups kept per process, so a report reads from the database only the hours that
can still change.

A 30-day report over 1 M signals read ≈ 40 k hourly aggregate rows and ≈ 20 k visitor-hour
reach rows on every page view, and most of its time went to reading and unpacking them
(``bench/report.py``). Rollups are written at the server's receive hour, so a local day that
ended more than :data:`GRACE` seconds ago no longer changes, except:

* an **erasure** deletes the visitor's reach rows (the anonymous sums stay): the storage drops
  the site's days after the erase commits (:meth:`RollupCache.forget_site`);
* **deleting the site**: the same;
* a batch stored with an older receive time (imports, tests): the writer tells the cache which
  hours it wrote (:meth:`RollupCache.written`) after the commit;
* **another process** (several servers on one PostgreSQL) erasing a visitor: every report counts
  the reach rows of the days it takes from the cache (one indexed ``COUNT``) and reads them
  again when the count moved.

Retention never deletes rollups, so pruning leaves cached days as they are. What is cached are
raw counts and bitmaps; the k rule is applied after merging them with the fresh hours, on every
report, so a cached day cannot show a number the rule hides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import numpy as np

from rapport.server.report.cells import WORDS

__all__ = ["GRACE", "KEEP_DAYS", "RollupCache", "Slice", "read_rollups"]


class _ReadSide(Protocol):
    """What the cache reads through: the storage's read side (``Storage.sql_fetch``). A
    protocol rather than the storage class, which itself names the cache: no import cycle."""

    async def sql_fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


#: Seconds after its end before a day counts as closed (a batch received just before midnight
#: may commit a moment after it).
GRACE: Final = 600.0
#: Days before the first day of a report that stay cached (a report covers at most 90).
KEEP_DAYS: Final = 90
Aggregates = dict[tuple[str, int], tuple[int, float]]
"""``(cell, local day) → (n, total)``."""


@dataclass(slots=True)
class Slice:
    """The rollups of the hours ``first_hour`` … ``last_hour``: aggregates per cell and local
    day, and each visitor's reach bitmap ORed per local day."""

    first_hour: int
    last_hour: int
    aggregates: Aggregates
    visitor: np.ndarray
    """Site-wide visitor numbers (int64), one per (visitor, day)."""
    day: np.ndarray
    """Local day (int64) of each row."""
    words: np.ndarray
    """``(rows, WORDS)`` uint64 bitmaps."""
    reach_rows: dict[int, int]
    """``report_reach`` rows read per local day (the cross-process check compares them)."""


@dataclass(slots=True)
class _Site:
    visitors: dict[str, int] = field(default_factory=dict)
    days: dict[tuple[int, int], Slice] = field(default_factory=dict)
    """``(zone offset, local day) → Slice``."""


class RollupCache:
    """Closed local days per site and zone offset; bounded by sites and visitors kept."""

    def __init__(self, *, max_sites: int = 256, max_visitors: int = 1_000_000) -> None:
        self._sites: dict[int, _Site] = {}
        self.generation = 0
        """Moves on every invalidation: a report that read a day while one happened does not
        keep what it read (it may predate the change)."""
        self._max_sites = max_sites
        self._max_visitors = max_visitors

    def __bool__(self) -> bool:
        return bool(self._sites)

    def site(self, site_id: int) -> _Site:
        """The site's entry; a new one past ``max_visitors`` (the oldest site makes room)."""
        entry = self._sites.get(site_id)
        if entry is None or len(entry.visitors) > self._max_visitors:
            if entry is None and len(self._sites) >= self._max_sites:
                self._sites.pop(next(iter(self._sites)))
            entry = self._sites[site_id] = _Site()
        return entry

    def forget_site(self, site_id: int) -> None:
        """Drop a site's days (after an erasure or the site's deletion commits)."""
        self.generation += 1
        self._sites.pop(site_id, None)

    def written(self, hours: Iterable[tuple[int, int]]) -> None:
        """After a commit: drop cached days holding any of these ``(site_id, hour)``."""
        for site_id, hour in hours:
            entry = self._sites.get(site_id)
            if entry is None:
                continue
            stale = [k for k, s in entry.days.items() if s.first_hour <= hour <= s.last_hour]
            self.generation += bool(stale)
            for key in stale:
                del entry.days[key]


def _day(hour: int, offset: int) -> int:
    return (hour * 3600 + offset) // 86400


def _first_hour(day: int, offset: int) -> int:
    """The first UTC hour whose start falls in local ``day``."""
    return -((offset - day * 86400) // 3600)


async def read_rollups(
    storage: _ReadSide,
    cache: RollupCache | None,
    site_id: int,
    first_hour: int,
    last_hour: int,
    offset: int,
    now: float,
) -> list[Slice]:
    """The rollups of the hours ``first_hour`` … ``last_hour`` as slices: closed whole days
    from ``cache`` (read once), the hours around them from the database."""
    entry = cache.site(site_id) if cache is not None else _Site()
    closed_until = int((now - GRACE) // 3600)  # hours before this one can no longer change
    whole = [
        d
        for d in range(_day(first_hour, offset), _day(last_hour, offset) + 1)
        if _first_hour(d, offset) >= first_hour and _first_hour(d + 1, offset) - 1 < closed_until
        and _first_hour(d + 1, offset) - 1 <= last_hour
    ]  # fmt: skip
    slices: list[Slice] = []
    if whole and cache is not None:
        start, end = _first_hour(whole[0], offset), _first_hour(whole[-1] + 1, offset) - 1
        generation = cache.generation
        cached = [entry.days.get((offset, d)) for d in whole]
        missing = [d for d, s in zip(whole, cached, strict=True) if s is None]
        parts = await _read_days(storage, entry, site_id, missing, offset)
        # Another process may have erased a visitor: its reach rows are gone there.
        rows = await storage.sql_fetch(
            "SELECT COUNT(*) FROM report_reach WHERE site_id = ? AND hour BETWEEN ? AND ?",
            (site_id, start, end),
        )
        held = [s if s is not None else parts[d] for d, s in zip(whole, cached, strict=True)]
        if int(rows[0][0]) != sum(sum(s.reach_rows.values()) for s in held):
            entry.days.clear()
            parts = await _read_days(storage, entry, site_id, whole, offset)
            held = [parts[d] for d in whole]
        # Kept only when nothing was invalidated meanwhile (what was read may predate it);
        # served either way, like a report that started just before the change.
        if parts and cache.generation == generation:
            for d, part in parts.items():
                entry.days[(offset, d)] = part
            for key in [k for k in entry.days if k[1] < whole[0] - KEEP_DAYS]:
                del entry.days[key]  # older than any report's range
        slices = held
    else:
        start, end = last_hour + 1, last_hour
    if first_hour < start:
        slices.append(await _read(storage, entry, site_id, first_hour, start - 1, offset))
    if end < last_hour:
        slices.append(await _read(storage, entry, site_id, end + 1, last_hour, offset))
    return slices


async def _read_days(
    storage: _ReadSide, entry: _Site, site_id: int, days: list[int], offset: int
) -> dict[int, Slice]:
    """Whole local ``days`` (ascending) from the database, in one read, a slice per day."""
    if not days:
        return {}
    lo, hi = _first_hour(days[0], offset), _first_hour(days[-1] + 1, offset) - 1
    block = await _read(storage, entry, site_id, lo, hi, offset)
    return {d: _part(block, d, offset) for d in days}


async def _read(
    storage: _ReadSide, entry: _Site, site_id: int, first_hour: int, last_hour: int, offset: int
) -> Slice:
    """One span from the database, the reach rows ORed per (visitor, local day)."""
    params = (offset, site_id, first_hour, last_hour)
    aggregates = await storage.sql_fetch(
        "SELECT cell, (hour * 3600 + ?) / 86400 AS day, SUM(n), SUM(total) FROM report_rollup "
        "WHERE site_id = ? AND hour BETWEEN ? AND ? GROUP BY cell, day",
        params,
    )
    reach = await storage.sql_fetch(
        "SELECT visitor, (hour * 3600 + ?) / 86400 AS day, w0, w1, w2, w3 "
        "FROM report_reach WHERE site_id = ? AND hour BETWEEN ? AND ?",
        params,
    )
    visitor, day, words = _arrays(reach, entry.visitors)
    days, counts = np.unique(day, return_counts=True)
    visitor, day, words = or_per_visitor_day(visitor, day, words)
    return Slice(
        first_hour,
        last_hour,
        {(str(c), int(d)): (int(n), float(t)) for c, d, n, t in aggregates},
        visitor,
        day,
        words,
        {int(d): int(c) for d, c in zip(days, counts, strict=True)},
    )


def _arrays(
    rows: Sequence[tuple[Any, ...]], ids: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(rows)
    visitor = np.fromiter((ids.setdefault(r[0], len(ids)) for r in rows), np.int64, n)
    day = np.fromiter((r[1] for r in rows), np.int64, n)
    words = np.array([r[2:] for r in rows], dtype=np.int64).reshape(n, WORDS).view(np.uint64)
    return visitor, day, words


def or_per_visitor_day(
    visitor: np.ndarray, day: np.ndarray, words: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (visitor, day), its words the OR of that pair's rows; sorted by day."""
    if not len(visitor):
        return visitor, day, words
    width = int(visitor.max()) + 1
    first = int(day.min())
    keys = (day - first) * width + visitor
    order = np.argsort(keys, kind="stable")
    keys, words = keys[order], words[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    keys = keys[starts]
    return keys % width, keys // width + first, np.bitwise_or.reduceat(words, starts, axis=0)


def _part(block: Slice, day: int, offset: int) -> Slice:
    """The part of ``block`` in local ``day``."""
    mask = block.day == day
    first, last = _first_hour(day, offset), _first_hour(day + 1, offset) - 1
    return Slice(
        first,
        last,
        {k: v for k, v in block.aggregates.items() if k[1] == day},
        block.visitor[mask],
        block.day[mask],
        block.words[mask],
        {day: block.reach_rows.get(day, 0)},
    )
