"""The visitor profile and how a batch of signals updates it.

The raw signals table is append-only and unindexed (an index makes ingest ~10× slower), so
anything the hint rules need must be kept in this row, updated in the same transaction as
the batch. It stays small and bounded:

* the latest score per pattern (``patterns``) and a short history of each pattern's best
  score per recent session (``pattern_history``);
* the set of actions seen in each of the last few sessions (``actions``);
* the **current session** (``current``): its evidence per pattern, chat tone and topics,
  behaviour counters, coarse context and how many batches reported each pattern;
* **across visits**: visits (sessions), first/last seen, a 24-bin histogram of visit start
  hours (server clock, UTC), purchases/orders/revenue, support contacts, consent state.
* **camera affect** (only with consent; ``affect.py``): the current session's rolling,
  baseline-relative state and per-section summaries; across visits only the visitor's neutral
  baseline and a coarse, decaying summary.

Outcomes reported by the site's own server (``POST /v1/admin/sites/{key}/outcomes``) go
through the same writer as a batch marked ``server_side``: they never count as a visit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import msgspec

from rapport.server.profiles.affect import (
    AffectObservation,
    AffectSession,
    FaceHistory,
    apply_affect,
    fold_history,
)

__all__ = [
    "MAX_ACTIONS_PER_SESSION",
    "MAX_HISTORY",
    "MAX_SESSIONS_TRACKED",
    "PROFILE_VERSION",
    "CurrentSession",
    "Observations",
    "PatternScore",
    "Profile",
    "apply_observations",
    "decode_profile",
    "encode_profile",
]

#: Bumped when the stored JSON changes shape; old rows are read with defaults.
PROFILE_VERSION: Final = 2
#: Sessions whose action sets we keep; older ones are dropped first.
MAX_SESSIONS_TRACKED: Final = 10
#: Distinct action names kept per session (names are site-chosen identifiers).
MAX_ACTIONS_PER_SESSION: Final = 32
#: Per-pattern best scores kept for this many recent sessions.
MAX_HISTORY: Final = 10
#: Actions that count as a purchase / an order / a support contact.
PURCHASE_ACTIONS: Final = frozenset({"purchase", "order_completed", "checkout_completed"})
SUPPORT_ACTIONS: Final = frozenset({"support_contact", "contact_support", "chat_handoff"})
#: Chat topics that mean the visitor is asking for support.
SUPPORT_TOPICS: Final = frozenset({"order_status", "contacts"})


class PatternScore(msgspec.Struct, frozen=True, kw_only=True):
    """The latest score the client reported for one behaviour pattern."""

    score: float
    session: str
    at: float
    """Server receive time (unix seconds); clients send no timestamps."""


class CurrentSession(msgspec.Struct, kw_only=True):
    """What the rules need about the visitor's latest session (reset on a new session)."""

    id: str = ""
    started_at: float = 0.0
    last_at: float = 0.0
    batches: int = 0
    evidence: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)
    """Pattern → feature → points (latest value per feature)."""
    reports: dict[str, int] = msgspec.field(default_factory=dict)
    """Pattern → number of batches that reported its score."""
    tones: dict[str, float] = msgspec.field(default_factory=dict)
    topics: dict[str, int] = msgspec.field(default_factory=dict)
    counters: dict[str, int] = msgspec.field(default_factory=dict)
    context: dict[str, str] = msgspec.field(default_factory=dict)
    affect: AffectSession = msgspec.field(default_factory=AffectSession)
    """Camera affect this session, relative to the visitor's baseline (``affect.py``)."""

    @property
    def seconds(self) -> float:
        """Server-observed length of the session so far."""
        return max(0.0, self.last_at - self.started_at)


class Profile(msgspec.Struct, kw_only=True):
    """What we remember about one visitor of one site."""

    version: int = PROFILE_VERSION
    patterns: dict[str, PatternScore] = msgspec.field(default_factory=dict)
    actions: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Session id → sorted action names seen in it; insertion-ordered, oldest first."""
    updated_at: float = 0.0
    # -- across visits (v2) --
    first_seen: float = 0.0
    last_seen: float = 0.0
    visits: int = 0
    """Sessions seen (a new session id is a new visit)."""
    hours: list[int] = msgspec.field(default_factory=list)
    """24 counters: visit start hour (UTC, server clock)."""
    purchases: int = 0
    revenue: dict[str, float] = msgspec.field(default_factory=dict)
    """Currency → total purchase value."""
    first_purchase_at: float = 0.0
    last_purchase_at: float = 0.0
    support_contacts: int = 0
    pattern_history: dict[str, list[float]] = msgspec.field(default_factory=dict)
    """Pattern → best score per recent session, oldest first (≤ ``MAX_HISTORY``)."""
    pattern_max: dict[str, float] = msgspec.field(default_factory=dict)
    """Pattern → highest score ever seen (the irritation guardrail uses it)."""
    consent: str = "implied"
    """``implied`` (signals arrive: GPC/DNT were not set), ``granted`` or ``withdrawn``
    (from the site's ``consent_granted`` / ``consent_withdrawn`` actions)."""
    current: CurrentSession = msgspec.field(default_factory=CurrentSession)
    face: FaceHistory = msgspec.field(default_factory=FaceHistory)
    """Across visits: the neutral face baseline and a coarse, decaying affect summary."""

    def session_actions(self, session: str) -> frozenset[str]:
        """Actions seen in ``session`` (empty when unknown)."""
        return frozenset(self.actions.get(session, ()))

    @property
    def typical_hour(self) -> int | None:
        """The most frequent visit start hour (UTC), ``None`` before the first visit."""
        if not self.hours or not any(self.hours):
            return None
        return max(range(24), key=lambda h: (self.hours[h], -h))

    def recency_days(self, now: float) -> float | None:
        """Days since the last visit (``None`` for an unknown visitor)."""
        return None if not self.last_seen else max(0.0, (now - self.last_seen) / 86_400)

    def frequency(self) -> float:
        """Visits per week since the first visit (at least one week of span)."""
        if not self.visits:
            return 0.0
        weeks = max(1.0, (self.last_seen - self.first_seen) / (7 * 86_400))
        return self.visits / weeks


@dataclass(frozen=True, slots=True)
class Observations:
    """The profile-relevant part of one batch, extracted before it reaches storage."""

    patterns: Mapping[str, float] = field(default_factory=dict)
    """Pattern name → score; the last value in the batch wins."""
    actions: frozenset[str] = frozenset()
    evidence: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    tones: Mapping[str, float] = field(default_factory=dict)
    topics: Mapping[str, int] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)
    context: Mapping[str, str] = field(default_factory=dict)
    purchase_values: tuple[tuple[float, str], ...] = ()
    """(value, currency) of purchase actions that carried a value."""
    affect: tuple[AffectObservation, ...] = ()
    """Camera affect windows, in batch order."""
    server_side: bool = False
    """Reported by the site's server (outcomes API): not a visit, no session state."""
    section_bits: int = 0
    """The report's reach bits (:mod:`rapport.server.report.cells`) of the batch's ``dwell``
    and ``section_event`` signals: ``section:price:dwell`` and the like. The profile ignores
    them; the report's rollups OR them in, and reading them here saves the writer a look at
    each of those signals (bench/report.py)."""

    def __bool__(self) -> bool:
        return bool(
            self.patterns
            or self.actions
            or self.evidence
            or self.tones
            or self.topics
            or self.counters
            or self.context
            or self.affect
        )


def _touch_session(profile: Profile, session: str, at: float) -> CurrentSession:
    """The session this batch belongs to, as a new object. Its dicts are fresh but shallow:
    :func:`apply_observations` replaces an evidence entry rather than updating it, so the
    old profile's inner dicts are never written (copying them all was a fifth of the
    writer's profile work, bench/report.py)."""
    cur = profile.current
    if cur.id == session:
        return CurrentSession(
            id=cur.id,
            started_at=cur.started_at,
            last_at=max(cur.last_at, at),
            batches=cur.batches + 1,
            evidence=dict(cur.evidence),
            reports=dict(cur.reports),
            tones=dict(cur.tones),
            topics=dict(cur.topics),
            counters=dict(cur.counters),
            context=dict(cur.context),
            affect=cur.affect,
        )
    return CurrentSession(id=session, started_at=at, last_at=at, batches=1)


def apply_observations(
    profile: Profile, *, session: str, at: float, observations: Observations
) -> Profile:
    """Return a new profile with one batch's observations applied.

    Pure (no I/O, input not mutated) so it is shared by every storage backend and tested
    on its own. Containers are copied on write: the new profile shares the old one's
    unchanged lists and dicts, which neither ever mutates (the writer runs this once per
    batch; deep copies of every session's actions and every pattern's history were most of
    its cost, bench/report.py).
    """
    new_visit = not observations.server_side and profile.current.id != session
    patterns = dict(profile.patterns)
    for name, score in observations.patterns.items():
        patterns[name] = PatternScore(score=score, session=session, at=at)
    actions = dict(profile.actions)
    if observations.actions:
        merged = set(actions.pop(session, ())) | observations.actions
        actions[session] = sorted(merged)[:MAX_ACTIONS_PER_SESSION]
        while len(actions) > MAX_SESSIONS_TRACKED:
            del actions[next(iter(actions))]

    hours = list(profile.hours) if len(profile.hours) == 24 else [0] * 24
    visits = profile.visits
    if new_visit:
        visits += 1
        hours[int(at // 3600) % 24] += 1

    history = dict(profile.pattern_history)
    pattern_max = dict(profile.pattern_max)
    for name, score in observations.patterns.items():
        pattern_max[name] = max(pattern_max.get(name, 0.0), score)
        series = list(history.get(name, ()))
        same_session = profile.current.id == session and name in profile.current.reports
        if series and same_session:
            series[-1] = max(series[-1], score)
        else:
            series.append(score)
            del series[:-MAX_HISTORY]
        history[name] = series

    purchase_count = len(observations.actions & PURCHASE_ACTIONS)
    # A purchase with a value is reported once per batch by the extractor; count values
    # when present, else one per purchase action name.
    purchases_now = max(purchase_count, len(observations.purchase_values))
    revenue = dict(profile.revenue)
    for value, currency in observations.purchase_values:
        revenue[currency] = round(revenue.get(currency, 0.0) + value, 2)
    support = len(observations.actions & SUPPORT_ACTIONS)

    face = profile.face
    if new_visit:
        face = fold_history(face, profile.current.affect, at)
    if observations.server_side:
        current = profile.current
    else:
        current = _touch_session(profile, session, at)
        for pattern in observations.patterns:
            current.reports[pattern] = current.reports.get(pattern, 0) + 1
        for pattern, features in observations.evidence.items():
            current.evidence[pattern] = {**current.evidence.get(pattern, {}), **features}
        current.tones.update(observations.tones)
        for tone in observations.tones:
            key = f"tone:{tone}"
            current.reports[key] = current.reports.get(key, 0) + 1
        before_support = sum(current.topics.get(t, 0) for t in SUPPORT_TOPICS)
        for topic, count in observations.topics.items():
            current.topics[topic] = max(current.topics.get(topic, 0), count)
        if before_support == 0 and any(current.topics.get(t, 0) for t in SUPPORT_TOPICS):
            support += 1
        for name, count in observations.counters.items():
            current.counters[name] = max(current.counters.get(name, 0), count)
        current.context.update(observations.context)
        if observations.affect:
            current.affect, baseline = apply_affect(
                current.affect, face.baseline, observations.affect, at
            )
            face = msgspec.structs.replace(face, baseline=baseline)

    consent = profile.consent
    if "consent_withdrawn" in observations.actions:
        consent = "withdrawn"
    elif "consent_granted" in observations.actions:
        consent = "granted"

    return Profile(
        patterns=patterns,
        actions=actions,
        updated_at=at,
        first_seen=profile.first_seen or at,
        last_seen=max(profile.last_seen, at) if not observations.server_side else profile.last_seen,
        visits=visits,
        hours=hours,
        purchases=profile.purchases + purchases_now,
        revenue=revenue,
        first_purchase_at=profile.first_purchase_at or (at if purchases_now else 0.0),
        last_purchase_at=at if purchases_now else profile.last_purchase_at,
        support_contacts=profile.support_contacts + support,
        pattern_history=history,
        pattern_max=pattern_max,
        consent=consent,
        current=current,
        face=face,
    )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Profile)


def encode_profile(profile: Profile) -> str:
    """The JSON text stored in ``profiles.data``."""
    return _encoder.encode(profile).decode("utf-8")


def decode_profile(data: str | bytes | None) -> Profile:
    """Read a stored profile; a missing row is an empty profile."""
    if data is None:
        return Profile()
    return _decoder.decode(data)
