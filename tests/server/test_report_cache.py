"""The report's per-process cache of closed days (``server/report/cache.py``), on its own.

What it serves is tested through the report API on both backends (test_report_api.py); these
are its bounds and its bookkeeping, which need no database."""

from __future__ import annotations

import numpy as np

from rapport.server.report.cache import RollupCache, Slice


def day_slice(first_hour: int) -> Slice:
    empty = np.zeros(0, dtype=np.int64)
    words = np.zeros((0, 4), dtype=np.uint64)
    return Slice(first_hour, first_hour + 23, {}, empty, empty, words, {})


def test_the_oldest_site_makes_room_past_max_sites() -> None:
    cache = RollupCache(max_sites=2)
    first = cache.site(1)
    cache.site(2)
    cache.site(3)
    assert cache.site(1) is not first  # site 1 was dropped, so it starts over


def test_a_write_into_a_cached_hour_drops_that_day_only() -> None:
    cache = RollupCache()
    entry = cache.site(1)
    entry.days[(0, 10)] = day_slice(240)
    entry.days[(0, 11)] = day_slice(264)
    generation = cache.generation
    cache.written([(1, 250), (2, 250)])  # site 2 holds nothing: ignored
    assert list(entry.days) == [(0, 11)]
    assert cache.generation > generation


def test_a_site_starts_over_past_max_visitors() -> None:
    cache = RollupCache(max_visitors=2)
    entry = cache.site(1)
    entry.visitors.update({"a": 0, "b": 1, "c": 2})
    assert cache.site(1) is not entry
