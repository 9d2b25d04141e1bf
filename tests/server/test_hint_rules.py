"""The hint rules as pure functions: profile in, hints out."""

from __future__ import annotations

from server.hints import RULES, Hint, hints_for
from server.profiles import Observations, Profile, apply_observations

NOW = 1_800_000_000.0


def profile_with(
    score: float,
    *,
    session: str = "session-a",
    at: float = NOW,
    actions: frozenset[str] = frozenset(),
) -> Profile:
    observed = apply_observations(
        Profile(),
        session=session,
        at=at,
        observations=Observations(patterns={"hesitant": score}),
    )
    if actions:
        observed = apply_observations(
            observed, session=session, at=at, observations=Observations(actions=actions)
        )
    return observed


def test_empty_profile_has_no_hints() -> None:
    assert hints_for(Profile(), now=NOW) == []


def test_hesitant_at_the_threshold_gets_reassurance() -> None:
    [hint] = hints_for(profile_with(RULES.hesitant_min_score), now=NOW)
    assert (hint.id, hint.kind, hint.pattern) == ("hesitant.reassure", "reassure", "hesitant")


def test_hesitant_just_below_the_threshold_gets_nothing() -> None:
    assert hints_for(profile_with(0.599), now=NOW) == []


def test_hint_strength_is_the_score_rounded_to_two_places() -> None:
    [hint] = hints_for(profile_with(0.7456), now=NOW)
    assert hint.strength == 0.75


def test_hint_explains_itself() -> None:
    [hint] = hints_for(profile_with(0.74), now=NOW)
    assert hint.reasons == ["hesitant score 0.74 ≥ 0.60 with no add-to-cart this session"]
    assert hint.source == "behaviour"


def test_hint_expires_thirty_minutes_after_the_score_was_seen() -> None:
    [hint] = hints_for(profile_with(0.8, at=NOW - 60), now=NOW)
    assert hint.expires_at == int(NOW - 60 + 30 * 60)


def test_stale_score_gives_no_hint() -> None:
    assert hints_for(profile_with(0.9, at=NOW - 30 * 60), now=NOW) == []


def test_add_to_cart_in_that_session_suppresses_the_hint() -> None:
    profile = profile_with(0.9, actions=frozenset({"add_to_cart"}))
    assert hints_for(profile, now=NOW) == []


def test_purchase_in_that_session_suppresses_the_hint() -> None:
    assert hints_for(profile_with(0.9, actions=frozenset({"purchase"})), now=NOW) == []


def test_other_actions_do_not_suppress_the_hint() -> None:
    assert hints_for(profile_with(0.9, actions=frozenset({"view_item"})), now=NOW) != []


def test_add_to_cart_in_an_earlier_session_does_not_suppress_the_hint() -> None:
    earlier = profile_with(0.1, session="session-old", actions=frozenset({"add_to_cart"}))
    profile = apply_observations(
        earlier,
        session="session-new",
        at=NOW,
        observations=Observations(patterns={"hesitant": 0.8}),
    )
    assert [h.id for h in hints_for(profile, now=NOW)] == ["hesitant.reassure"]


def test_other_patterns_give_no_hint_yet() -> None:
    profile = apply_observations(
        Profile(), session="s", at=NOW, observations=Observations(patterns={"urgent": 0.99})
    )
    assert hints_for(profile, now=NOW) == []


def test_hint_is_versioned() -> None:
    [hint] = hints_for(profile_with(0.9), now=NOW)
    assert isinstance(hint, Hint)
    assert hint.version == 1
