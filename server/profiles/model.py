"""The visitor profile and how a batch of signals updates it.

The raw signals table is append-only and unindexed (an index makes ingest ~10× slower), so
anything the hint rules need must be kept in this row, updated in the same transaction as
the batch. It stays small and bounded: the latest score per pattern, and the set of actions
seen in each of the last few sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import msgspec

__all__ = [
    "MAX_ACTIONS_PER_SESSION",
    "MAX_SESSIONS_TRACKED",
    "PROFILE_VERSION",
    "Observations",
    "PatternScore",
    "Profile",
    "apply_observations",
    "decode_profile",
    "encode_profile",
]

#: Bumped when the stored JSON changes shape; old rows are read with defaults.
PROFILE_VERSION: Final = 1
#: Sessions whose action sets we keep; older ones are dropped first.
MAX_SESSIONS_TRACKED: Final = 10
#: Distinct action names kept per session (names are site-chosen identifiers).
MAX_ACTIONS_PER_SESSION: Final = 32


class PatternScore(msgspec.Struct, frozen=True, kw_only=True):
    """The latest score the client reported for one behaviour pattern."""

    score: float
    session: str
    at: float
    """Server receive time (unix seconds); clients send no timestamps."""


class Profile(msgspec.Struct, kw_only=True):
    """What we remember about one visitor of one site."""

    version: int = PROFILE_VERSION
    patterns: dict[str, PatternScore] = msgspec.field(default_factory=dict)
    actions: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """Session id → sorted action names seen in it; insertion-ordered, oldest first."""
    updated_at: float = 0.0

    def session_actions(self, session: str) -> frozenset[str]:
        """Actions seen in ``session`` (empty when unknown)."""
        return frozenset(self.actions.get(session, ()))


@dataclass(frozen=True, slots=True)
class Observations:
    """The profile-relevant part of one batch, extracted before it reaches storage."""

    patterns: Mapping[str, float] = field(default_factory=dict)
    """Pattern name → score; the last value in the batch wins."""
    actions: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.patterns or self.actions)


def apply_observations(
    profile: Profile, *, session: str, at: float, observations: Observations
) -> Profile:
    """Return a new profile with one batch's observations applied.

    Pure (no I/O, input not mutated) so it is shared by every storage backend and tested
    on its own.
    """
    patterns = dict(profile.patterns)
    for name, score in observations.patterns.items():
        patterns[name] = PatternScore(score=score, session=session, at=at)
    actions = {key: list(names) for key, names in profile.actions.items()}
    if observations.actions:
        merged = set(actions.pop(session, ())) | observations.actions
        actions[session] = sorted(merged)[:MAX_ACTIONS_PER_SESSION]
        while len(actions) > MAX_SESSIONS_TRACKED:
            del actions[next(iter(actions))]
    return Profile(patterns=patterns, actions=actions, updated_at=at)


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
