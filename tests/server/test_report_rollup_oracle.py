"""The writer's rollups against an obviously correct reference, on random visits.

:class:`RollupBuffer` is written for speed: it looks only at what a batch observed and takes
shortcuts that hold because of how :func:`apply_observations` merges a batch (a crossing needs
the batch's own score at the threshold, a counter the batch did not send cannot have grown).
The reference below takes none of them: it compares every pattern, counter, tone and topic of
the two whole profiles, and scores with :func:`probability`. Hypothesis drives random visits
(several sessions and hours, scores that rise and fall) through both; every aggregate and
every reach bit must agree. This is what lets the rollups be made faster again safely.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.client_py.schema import PATTERNS, TONES, TOPICS
from rapport.server.profiles import Observations, Profile, apply_observations
from rapport.server.profiles.model import PURCHASE_ACTIONS
from rapport.server.report.cells import BIT, SCORE_BUCKETS, SECTION_BIT
from rapport.server.report.rollup import FRICTION_COUNTERS, THRESHOLD, ReachCache, RollupBuffer
from rapport.server.scoring.model import features_of, prior_model, probability
from rapport.server.storage.base import IngestBatch

HOUR = 500_000
LOOPS = "price_returns_loops"
MODELS = (prior_model("conversion"), prior_model("abandon"))

Counts = dict[tuple[int, str], list[float]]


def best(profile: Profile, pattern: str) -> float:
    """The current session's best score of ``pattern`` (0 when the session never sent it)."""
    if pattern not in profile.current.reports:
        return 0.0
    history = profile.pattern_history.get(pattern)
    return history[-1] if history else 0.0


def loops(profile: Profile) -> float:
    return max((f.get(LOOPS, 0.0) for f in profile.current.evidence.values()), default=0.0)


def bucket(probability_: float) -> int:
    for i, bound in enumerate(SCORE_BUCKETS):
        if probability_ < bound:
            return i
    return len(SCORE_BUCKETS) - 1


def steps(profile: Profile, session: str) -> tuple[bool, bool, bool]:
    actions = profile.actions.get(session, ())
    return True, "add_to_cart" in actions, bool(PURCHASE_ACTIONS & set(actions))


def reference(
    batch: IngestBatch, before: Profile, after: Profile, counts: Counts, reach: dict[int, int]
) -> None:
    """One batch's rollups, the slow and plain way: ``counts`` (hour, cell) → [n, total] and
    ``reach`` hour → bits (one visitor)."""
    hour = int(batch.received_at // 3600)

    def count(cell: str, n: int = 1, total: float = 0.0) -> None:
        slot = counts.setdefault((hour, cell), [0, 0.0])
        slot[0] += n
        slot[1] += total
        bits.append(BIT.get(cell, 0))

    bits: list[int] = [BIT["visit"]]
    session = batch.session
    same = before.current.id == session
    if not same:
        count("session")
    crossed: list[str] = []
    if after.current.id == session:
        crossed = [
            p
            for p in PATTERNS
            if best(after, p) >= THRESHOLD and (not same or best(before, p) < THRESHOLD)
        ]
        now = [p for p in PATTERNS if best(after, p) >= THRESHOLD]
        for p in crossed:
            count(f"pattern:{p}")
            for q in now:
                if q != p and (q not in crossed or q < p):
                    count("overlap:{}+{}".format(*sorted((p, q))))
        was = steps(before, session) if same else (False, False, False)
        for step, reached, reached_before in zip(
            ("view", "add_to_cart", "purchase"), steps(after, session), was, strict=True
        ):
            if reached and not reached_before:
                count(f"funnel:{step}")
            for p in now:
                if reached and (not reached_before or p in crossed):
                    count(f"funnel:{step}|{p}")
        for name in FRICTION_COUNTERS:
            old = before.current.counters.get(name, 0) if same else 0
            new = after.current.counters.get(name, 0)
            if new > old:
                count(f"friction:{name}", 1 if old == 0 else 0, float(new - old))
        if loops(after) > 0 and not (same and loops(before) > 0):
            count(f"friction:{LOOPS}")
        for tone in after.current.tones:
            old_tone = before.current.tones.get(tone, 0.0) if same else 0.0
            if after.current.tones[tone] >= THRESHOLD > old_tone:
                count(f"tone:{tone}")
        for topic, n in after.current.topics.items():
            old_n = before.current.topics.get(topic, 0) if same else 0
            if n > old_n:
                count(f"topic:{topic}", 1 if old_n == 0 else 0, float(n - old_n))
    seen = reach.get(hour, 0)
    if not seen or crossed or "add_to_cart" in batch.observations.actions:
        features = features_of(after, batch.received_at)
        lead, abandon = (probability(m, features) for m in MODELS)
        bits += [BIT[f"lead:{bucket(lead)}"], BIT[f"abandon:{bucket(abandon)}"]]
    reach[hour] = seen | batch.observations.section_bits
    for bit in bits:
        reach[hour] |= bit


scores = st.floats(min_value=0.0, max_value=1.0).map(lambda x: round(x, 2))
observations = st.builds(
    Observations,
    patterns=st.dictionaries(st.sampled_from(PATTERNS), scores, max_size=3),
    actions=st.frozensets(st.sampled_from(("add_to_cart", "purchase", "view_item")), max_size=2),
    evidence=st.dictionaries(
        st.sampled_from(PATTERNS[:2]),
        st.dictionaries(st.sampled_from((LOOPS, "dwell_price")), scores, min_size=1),
        max_size=2,
    ),
    tones=st.dictionaries(st.sampled_from(TONES), scores, max_size=2),
    topics=st.dictionaries(st.sampled_from(TOPICS[:3]), st.integers(0, 4), max_size=2),
    counters=st.dictionaries(
        st.sampled_from((*FRICTION_COUNTERS, "clicks")), st.integers(0, 5), max_size=3
    ),
    section_bits=st.sampled_from((0, *SECTION_BIT.values())),
)
# (session, hours after the first, observations): a visit's batches in order.
visits = st.lists(
    st.tuples(st.sampled_from(("s1", "s2", "s3")), st.integers(0, 2), observations),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(visits=visits, group=st.integers(1, 5))
def test_the_rollups_equal_the_reference_on_random_visits(
    visits: list[tuple[str, int, Observations]], group: int
) -> None:
    cache = ReachCache()
    counts: defaultdict[tuple[int, str], list[float]] = defaultdict(lambda: [0, 0.0])
    reach: defaultdict[int, int] = defaultdict(int)

    def write(buffer: RollupBuffer) -> None:
        """What the writer does with a group's buffer: write its rows, then commit."""
        for _site, hour, cell, n, total in buffer.aggregate_rows():
            counts[(hour - HOUR, cell)][0] += n
            counts[(hour - HOUR, cell)][1] += total
        for _site, hour, _visitor, bits in buffer.reach_rows():
            reach[hour - HOUR] |= bits
        buffer.mark_written()

    buffer = RollupBuffer(cache)
    expected_counts: Counts = {}
    expected_reach: dict[int, int] = {}
    profile = Profile()
    at = HOUR * 3600.0
    for i, (session, hours, observed) in enumerate(visits):
        at = max(at, HOUR * 3600.0 + hours * 3600) + 1  # received in order
        batch = IngestBatch(1, "v1", session, f"b{i}", at, [], observed)
        before = profile
        if observed:  # what the writer does (apply_group): an empty batch changes nothing
            profile = apply_observations(before, session=session, at=at, observations=observed)
        if i and i % group == 0:  # a new writer group
            write(buffer)
            buffer = RollupBuffer(cache)
        buffer.add(batch, before, profile)
        reference(batch, before, profile, expected_counts, expected_reach)
    write(buffer)

    expected: dict[Any, Any] = {(h - HOUR, c): v for (h, c), v in expected_counts.items()}
    assert {k: (int(n), round(t, 6)) for k, (n, t) in counts.items()} == {
        k: (int(n), round(t, 6)) for k, (n, t) in expected.items()
    }
    assert dict(reach) == {h - HOUR: bits for h, bits in expected_reach.items()}
