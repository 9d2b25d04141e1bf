"""Visitor profiles: the small per-(site, visitor) summary that hints are computed from."""

from rapport.server.profiles.model import (
    MAX_ACTIONS_PER_SESSION,
    MAX_SESSIONS_TRACKED,
    PROFILE_VERSION,
    CurrentSession,
    Observations,
    PatternScore,
    Profile,
    apply_observations,
    decode_profile,
    encode_profile,
)

__all__ = [
    "MAX_ACTIONS_PER_SESSION",
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
