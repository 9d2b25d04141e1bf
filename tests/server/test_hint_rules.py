"""The default playbook as pure functions: profile in, hints out."""

from __future__ import annotations

from rapport.server.hints import HINT_VERSION, Hint, hints_for
from rapport.server.playbook import FeedbackEntry, default_playbook
from rapport.server.profiles import Observations, Profile, apply_observations

NOW = 1_800_000_000.0
EVIDENCE = {"hesitant": {"dwell_price": 0.3, "price_returns_loops": 0.25}}


def profile_with(
    score: float,
    *,
    session: str = "session-a",
    at: float = NOW,
    actions: frozenset[str] = frozenset(),
    evidence: dict[str, dict[str, float]] | None = None,
    pattern: str = "hesitant",
) -> Profile:
    observed = apply_observations(
        Profile(),
        session=session,
        at=at,
        observations=Observations(
            patterns={pattern: score},
            evidence=EVIDENCE if evidence is None else evidence,
        ),
    )
    if actions:
        observed = apply_observations(
            observed, session=session, at=at, observations=Observations(actions=actions)
        )
    return observed


def test_empty_profile_has_no_hints() -> None:
    assert hints_for(Profile(), now=NOW) == []


def test_hesitant_at_the_threshold_gets_reassurance() -> None:
    [hint] = hints_for(profile_with(0.60), now=NOW)
    assert (hint.id, hint.kind, hint.pattern) == ("hesitant.reassure", "reassure", "hesitant")
    assert hint.also == ["emphasise:returns", "emphasise:warranty"]


def test_hesitant_just_below_the_threshold_gets_nothing() -> None:
    assert hints_for(profile_with(0.599), now=NOW) == []


def test_a_high_score_without_enough_evidence_gets_nothing() -> None:
    assert hints_for(profile_with(0.95, evidence={}), now=NOW) == []
    one = {"hesitant": {"dwell_price": 0.9}}
    assert hints_for(profile_with(0.95, evidence=one), now=NOW) == []
    weak = {"hesitant": {"dwell_price": 0.9, "revisits": 0.01}}  # below MIN_POINTS
    assert hints_for(profile_with(0.95, evidence=weak), now=NOW) == []


def test_hint_strength_is_the_score_rounded_to_two_places() -> None:
    [hint] = hints_for(profile_with(0.7456), now=NOW)
    assert hint.strength == 0.75


def test_hint_explains_itself_with_an_evidence_chain() -> None:
    [hint] = hints_for(profile_with(0.74), now=NOW)
    assert hint.reasons[0] == "hesitating before buying"
    assert hint.reasons[1] == (
        "hesitant score 0.74 ≥ 0.60, 2 evidence features ≥ 2, no add_to_cart/purchase this session"
    )
    assert hint.reasons[-1] == "rule hesitant.reassure"
    assert [(e.feature, e.value) for e in hint.evidence] == [
        ("score:hesitant", 0.74),
        ("evidence:dwell_price", 0.3),
        ("evidence:price_returns_loops", 0.25),
    ]
    assert hint.source == "behaviour" and hint.rule == "hesitant.reassure"


def test_chat_block_has_length_tone_opener_and_bilingual_directive() -> None:
    [hint] = hints_for(profile_with(0.8), now=NOW)
    assert hint.chat is not None
    assert (hint.chat.length, hint.chat.tone) == ("short", "reassuring")
    assert hint.chat.opener is not None and "30" in hint.chat.opener.en
    assert "warranty" in hint.chat.directive.en and "гарант" in hint.chat.directive.ru


def test_hint_expires_thirty_minutes_after_the_score_was_seen() -> None:
    [hint] = hints_for(profile_with(0.8, at=NOW - 60), now=NOW)
    assert hint.expires_at == int(NOW - 60 + 30 * 60)


def test_stale_score_gives_no_hint() -> None:
    assert hints_for(profile_with(0.9, at=NOW - 30 * 60), now=NOW) == []


def test_add_to_cart_or_purchase_in_that_session_suppresses_the_hint() -> None:
    for action in ("add_to_cart", "purchase"):
        assert hints_for(profile_with(0.9, actions=frozenset({action})), now=NOW) == []
    assert hints_for(profile_with(0.9, actions=frozenset({"view_item"})), now=NOW) != []


def test_add_to_cart_in_an_earlier_session_does_not_suppress_the_hint() -> None:
    earlier = profile_with(0.1, session="session-old", actions=frozenset({"add_to_cart"}))
    profile = apply_observations(
        earlier,
        session="session-new",
        at=NOW,
        observations=Observations(patterns={"hesitant": 0.8}, evidence=EVIDENCE),
    )
    assert [h.id for h in hints_for(profile, now=NOW)] == ["hesitant.reassure"]


def test_evidence_from_an_earlier_session_does_not_count() -> None:
    earlier = profile_with(0.9, session="session-old")
    profile = apply_observations(
        earlier,
        session="session-new",
        at=NOW,
        observations=Observations(patterns={"hesitant": 0.9}),
    )
    assert hints_for(profile, now=NOW) == []


def test_urgent_gets_one_sentence_answers() -> None:
    evidence = {"urgent": {"fast_commit": 0.4, "scroll_speed": 0.3}}
    [hint] = hints_for(profile_with(0.8, pattern="urgent", evidence=evidence), now=NOW)
    assert (hint.kind, hint.chat and hint.chat.length) == ("simplify", "one_sentence")
    assert hint.chat is not None and hint.chat.opener is None


def test_researcher_needs_time_and_gets_detailed_answers() -> None:
    evidence = {"researcher": {"dwell_specs": 0.4, "dwell_reviews": 0.3}}
    profile = profile_with(0.8, pattern="researcher", evidence=evidence)
    assert hints_for(profile, now=NOW) == []  # session 0 s < 20 s
    later = apply_observations(
        profile,
        session="session-a",
        at=NOW + 30,
        observations=Observations(patterns={"researcher": 0.8}),
    )
    [hint] = hints_for(later, now=NOW + 30)
    assert (hint.kind, hint.chat and hint.chat.length, hint.chat and hint.chat.tone) == (
        "expand", "detailed", "expert"
    )  # fmt: skip


def test_irritated_chat_tone_escalates_to_a_human_apologetically() -> None:
    profile = apply_observations(
        Profile(), session="s-1", at=NOW, observations=Observations(tones={"irritation": 0.8})
    )
    [hint] = hints_for(profile, now=NOW)
    assert (hint.kind, hint.source, hint.pattern) == ("escalate_to_human", "chat", "irritation")
    assert hint.chat is not None and (hint.chat.tone, hint.chat.handoff) == ("apologetic", "now")
    assert "hold_back" in hint.also


def test_returning_with_problem_fills_order_context_into_the_directive() -> None:
    bought = Observations(actions=frozenset({"purchase"}), purchase_values=((50.0, "EUR"),))
    profile = apply_observations(Profile(), session="s-0", at=NOW - 86_400, observations=bought)
    evidence = {"returning_with_problem": {"returning_visitor": 0.4, "dwell_support": 0.3}}
    profile = apply_observations(
        profile, session="s-1", at=NOW,
        observations=Observations(patterns={"returning_with_problem": 0.7}, evidence=evidence),
    )  # fmt: skip
    [hint] = hints_for(profile, now=NOW)
    assert hint.kind == "offer_help" and hint.chat is not None
    assert "2 visits, 1 purchases" in hint.chat.directive.en
    assert hint.chat.handoff == "offer"


def test_came_back_with_a_problem_for_first_time_visitors() -> None:
    """Issue 17 finding 1: no "came back with a problem" without a previous session on record,
    however strong this session's support evidence is."""
    evidence = {"returning_with_problem": {"dwell_support": 0.33, "topic_problem": 0.25}}
    first = profile_with(0.7, pattern="returning_with_problem", evidence=evidence, session="s-1")
    assert first.visits == 1
    assert hints_for(first, now=NOW) == []
    earlier = apply_observations(
        Profile(), session="s-0", at=NOW - 86_400, observations=Observations(counters={"clicks": 1})
    )
    back = apply_observations(
        earlier, session="s-1", at=NOW,
        observations=Observations(patterns={"returning_with_problem": 0.7}, evidence=evidence),
    )  # fmt: skip
    [hint] = hints_for(back, now=NOW)
    assert (hint.id, hint.source) == ("returning_with_problem.offer_help", "behaviour")


def test_a_dismissed_hint_is_suppressed_then_comes_back_weaker() -> None:
    profile = profile_with(0.8)
    dismissed = [FeedbackEntry("hesitant.reassure", "dismissed", NOW - 10)]
    assert hints_for(profile, now=NOW, feedback=dismissed) == []
    policy = default_playbook().feedback
    later = NOW - 10 + policy.suppress_seconds + 1
    profile = profile_with(0.8, at=later - 5)
    [hint] = hints_for(profile, now=later, feedback=dismissed)
    assert hint.strength == round(0.8 * policy.decay, 2)
    assert ("feedback:misses", 1) in [(e.feature, e.value) for e in hint.evidence]
    helpful = [*dismissed, FeedbackEntry("hesitant.reassure", "helpful", later - 1)]
    [hint] = hints_for(profile, now=later, feedback=helpful)
    assert hint.strength == 0.8


def test_hint_is_versioned() -> None:
    [hint] = hints_for(profile_with(0.9), now=NOW)
    assert isinstance(hint, Hint)
    assert hint.version == HINT_VERSION == 2
