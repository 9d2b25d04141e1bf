"""How a batch's observations update a visitor profile."""

from __future__ import annotations

from rapport.server.profiles import (
    MAX_SESSIONS_TRACKED,
    Observations,
    Profile,
    apply_observations,
    decode_profile,
    encode_profile,
)


def observe(profile: Profile, session: str, at: float, **kwargs: object) -> Profile:
    return apply_observations(
        profile,
        session=session,
        at=at,
        observations=Observations(**kwargs),  # type: ignore[arg-type]
    )


def test_latest_score_per_pattern_wins_with_its_session_and_time() -> None:
    profile = observe(Profile(), "s1", 10.0, patterns={"hesitant": 0.3, "urgent": 0.9})
    profile = observe(profile, "s2", 20.0, patterns={"hesitant": 0.8})
    assert profile.patterns["hesitant"].score == 0.8
    assert profile.patterns["hesitant"].session == "s2"
    assert profile.patterns["hesitant"].at == 20.0
    assert profile.patterns["urgent"].score == 0.9


def test_actions_accumulate_per_session() -> None:
    profile = observe(Profile(), "s1", 1.0, actions=frozenset({"view_item"}))
    profile = observe(profile, "s1", 2.0, actions=frozenset({"add_to_cart"}))
    profile = observe(profile, "s2", 3.0, actions=frozenset({"purchase"}))
    assert profile.session_actions("s1") == {"view_item", "add_to_cart"}
    assert profile.session_actions("s2") == {"purchase"}
    assert profile.session_actions("s3") == frozenset()


def test_only_the_most_recent_sessions_are_kept() -> None:
    profile = Profile()
    for i in range(MAX_SESSIONS_TRACKED + 3):
        profile = observe(profile, f"s{i}", float(i), actions=frozenset({"view_item"}))
    assert len(profile.actions) == MAX_SESSIONS_TRACKED
    assert "s0" not in profile.actions
    assert f"s{MAX_SESSIONS_TRACKED + 2}" in profile.actions


def test_applying_observations_does_not_mutate_the_input() -> None:
    original = observe(Profile(), "s1", 1.0, actions=frozenset({"a"}), patterns={"hesitant": 0.1})
    snapshot = encode_profile(original)
    observe(original, "s1", 2.0, actions=frozenset({"b"}), patterns={"hesitant": 0.9})
    assert encode_profile(original) == snapshot


def test_profiles_round_trip_through_json() -> None:
    profile = observe(Profile(), "s1", 1.5, actions=frozenset({"a"}), patterns={"hesitant": 0.25})
    assert decode_profile(encode_profile(profile)) == profile


def test_a_missing_or_empty_stored_profile_reads_as_empty() -> None:
    assert decode_profile(None) == Profile()
    assert decode_profile("{}") == Profile()
