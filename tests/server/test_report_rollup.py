"""What one stored batch adds to the report's hourly rollups (``server/report/rollup.py``).

The writer gives :class:`RollupBuffer` each batch with the visitor's profile before and after
it; these tests do the same with :func:`apply_observations`, so every number below is what the
dashboard would count for that visit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rapport.server.profiles import Observations, Profile, apply_observations
from rapport.server.profiles.affect import AffectObservation
from rapport.server.report.cells import SECTION_BIT, cell_names
from rapport.server.report.rollup import ReachCache, RollupBuffer
from rapport.server.storage.base import IngestBatch, StoredSignals

HOUR = 500_000
T0 = HOUR * 3600.0


class Visit:
    """One visitor's batches through one buffer, the profile carried from batch to batch."""

    def __init__(self, visitor: str = "v1") -> None:
        self.visitor = visitor
        self.profile = Profile()
        self.buffer = RollupBuffer(ReachCache())
        self._n = 0

    def batch(self, session: str = "s1", at: float = T0, **observed: object) -> None:
        self._n += 1
        batch = IngestBatch(
            site_id=1,
            visitor=self.visitor,
            session=session,
            batch_id=f"b{self._n}",
            received_at=at + self._n,
            signals=StoredSignals.of([]),
            observations=Observations(**observed),  # type: ignore[arg-type]
        )
        before = self.profile
        self.profile = apply_observations(
            before, session=session, at=batch.received_at, observations=batch.observations
        )
        self.buffer.add(batch, before, self.profile)

    def counts(self) -> dict[str, tuple[int, float]]:
        """Cell → (n, total) over every hour."""
        out: dict[str, tuple[int, float]] = {}
        for _site, _hour, cell, n, total in self.buffer.aggregate_rows():
            was = out.get(cell, (0, 0.0))
            out[cell] = (was[0] + n, was[1] + total)
        return out

    def reach(self) -> int:
        """The visitor's reach bits over every hour."""
        bits = 0
        for *_key, row_bits in self.buffer.reach_rows():
            bits |= row_bits
        return bits

    def cells(self) -> set[str]:
        return cell_names(self.reach())


@pytest.fixture
def visit() -> Iterator[Visit]:
    yield Visit()


def test_a_session_is_counted_once_however_many_batches_it_sends(visit: Visit) -> None:
    visit.batch(patterns={"hesitant": 0.2})
    visit.batch(patterns={"hesitant": 0.3})
    visit.batch(session="s2", patterns={"hesitant": 0.2})
    assert visit.counts()["session"] == (2, 0.0)


def test_a_pattern_is_counted_when_the_sessions_best_score_first_crosses_the_threshold(
    visit: Visit,
) -> None:
    visit.batch(patterns={"hesitant": 0.4})
    assert "pattern:hesitant" not in visit.counts()
    visit.batch(patterns={"hesitant": 0.6})
    visit.batch(patterns={"hesitant": 0.7})
    visit.batch(patterns={"hesitant": 0.3})  # falling back does not uncount it
    assert visit.counts()["pattern:hesitant"] == (1, 0.0)
    assert "pattern:hesitant" in visit.cells()


def test_a_new_session_counts_its_crossing_again(visit: Visit) -> None:
    visit.batch(patterns={"urgent": 0.8})
    visit.batch(session="s2", patterns={"urgent": 0.8})
    assert visit.counts()["pattern:urgent"] == (2, 0.0)


def test_two_patterns_crossing_together_make_one_overlap(visit: Visit) -> None:
    visit.batch(patterns={"hesitant": 0.7, "price_sensitive": 0.9})
    visit.batch(patterns={"hesitant": 0.8, "price_sensitive": 0.95})
    assert visit.counts()["overlap:hesitant+price_sensitive"] == (1, 0.0)


def test_a_pattern_crossing_later_overlaps_with_the_one_already_above(visit: Visit) -> None:
    visit.batch(patterns={"hesitant": 0.7})
    visit.batch(patterns={"researcher": 0.6})
    assert visit.counts()["overlap:hesitant+researcher"] == (1, 0.0)


def test_the_funnel_counts_each_step_once_and_per_pattern_of_the_session(visit: Visit) -> None:
    visit.batch(patterns={"urgent": 0.9})
    visit.batch(actions=frozenset({"add_to_cart"}))
    visit.batch(actions=frozenset({"add_to_cart"}))
    visit.batch(actions=frozenset({"purchase"}))
    counts = visit.counts()
    assert counts["funnel:view"] == (1, 0.0)
    assert counts["funnel:add_to_cart"] == (1, 0.0)
    assert counts["funnel:purchase"] == (1, 0.0)
    assert counts["funnel:add_to_cart|urgent"] == (1, 0.0)
    assert counts["funnel:purchase|urgent"] == (1, 0.0)


def test_friction_counts_the_session_once_and_sums_what_the_counter_grew_by(
    visit: Visit,
) -> None:
    visit.batch(counters={"rage_clicks": 2})
    visit.batch(counters={"rage_clicks": 2})  # sent again, unchanged
    visit.batch(counters={"rage_clicks": 5, "clicks": 9})  # clicks are not friction
    assert visit.counts()["friction:rage_clicks"] == (1, 5.0)
    assert not any(cell.startswith("friction:clicks") for cell in visit.counts())


def test_a_counter_not_in_the_batch_is_not_counted_again(visit: Visit) -> None:
    visit.batch(counters={"quick_backs": 1})
    visit.batch(patterns={"hesitant": 0.3})
    visit.batch(tones={"irritation": 0.2})
    assert visit.counts()["friction:quick_backs"] == (1, 1.0)


def test_a_price_returns_loop_is_counted_once_per_session(visit: Visit) -> None:
    loops = {"hesitant": {"price_returns_loops": 0.3}}
    visit.batch(evidence={"hesitant": {"dwell_price": 0.2}})
    assert "friction:price_returns_loops" not in visit.counts()
    visit.batch(evidence=loops)
    visit.batch(evidence={"hesitant": {"price_returns_loops": 0.6}})
    visit.batch(evidence={"hesitant": {"dwell_price": 0.4}})
    assert visit.counts()["friction:price_returns_loops"] == (1, 0.0)
    visit.batch(session="s2", evidence={"hesitant": {"dwell_price": 0.4}})
    visit.batch(session="s2", evidence=loops)
    assert visit.counts()["friction:price_returns_loops"] == (2, 0.0)


def test_chat_tone_crosses_once_and_topics_sum_their_growth(visit: Visit) -> None:
    visit.batch(tones={"irritation": 0.4}, topics={"returns": 1})
    visit.batch(tones={"irritation": 0.7}, topics={"returns": 3})
    visit.batch(tones={"irritation": 0.8}, topics={"returns": 3})
    counts = visit.counts()
    assert counts["tone:irritation"] == (1, 0.0)
    assert counts["topic:returns"] == (1, 3.0)
    assert {"tone:irritation", "topic:returns"} <= visit.cells()


def test_sections_the_batch_observed_set_their_reach_bits(visit: Visit) -> None:
    visit.batch(section_bits=SECTION_BIT["price", "dwell"] | SECTION_BIT["returns", "copy"])
    assert {"section:price:dwell", "section:returns:copy"} <= visit.cells()


def test_camera_windows_count_per_window_and_the_camera_session_once(visit: Visit) -> None:
    window = AffectObservation(
        seconds=2.0, presence=1.0, attention=0.8, dominant="happy", valence=0.5, section="price"
    )
    visit.batch(affect=(window,))
    visit.batch(affect=(window, window))
    counts = visit.counts()
    assert counts["camera"] == (3, 0.0)
    assert counts["affect:price"] == (3, 0.0)
    assert counts["valence:price"] == (3, 1.5)
    assert counts["affect:price:happy"] == (3, 0.0)
    assert counts["camera_session"] == (1, 0.0)
    assert {"camera", "camera_session", "affect:price", "affect:price:happy"} <= visit.cells()


def test_every_visitor_hour_gets_a_lead_and_an_abandon_bucket(visit: Visit) -> None:
    visit.batch(patterns={"hesitant": 0.2})
    cells = visit.cells()
    assert "visit" in cells
    assert sum(cell.startswith("lead:") for cell in cells) == 1
    assert sum(cell.startswith("abandon:") for cell in cells) == 1


def test_reach_rows_leave_out_bits_this_process_already_committed() -> None:
    cache = ReachCache()
    first = Visit()
    first.buffer = RollupBuffer(cache)
    first.batch(patterns={"hesitant": 0.2})
    first.buffer.mark_written()
    again = RollupBuffer(cache)
    batch = IngestBatch(1, "v1", "s1", "b9", T0 + 9, [], Observations(patterns={"hesitant": 0.3}))
    again.add(batch, first.profile, apply_observations(
        first.profile, session="s1", at=T0 + 9, observations=batch.observations
    ))  # fmt: skip
    assert again.reach_rows() == []


def test_a_server_side_outcome_counts_nothing(visit: Visit) -> None:
    visit.batch(actions=frozenset({"purchase"}), server_side=True)
    assert visit.counts() == {}
    assert visit.reach() == 0
