"""``evaluate`` tries only the rules a profile holds evidence for (its pattern, tone or topic, or
camera windows for a face rule): the hints must be exactly those of trying every rule in
priority order, whatever evidence the visitor has, with the camera on or off for the site."""

from __future__ import annotations

import itertools

import pytest

from rapport.server.hints.model import Hint
from rapport.server.playbook import Playbook, default_playbook, evaluate, site_playbook
from rapport.server.playbook.engine import _fire
from rapport.server.playbook.fusion import fuse
from rapport.server.profiles import Observations, Profile, apply_observations
from tests.server.affect_windows import window

NOW = 1_800_000_000.0

#: Evidence a visitor may have, each enough for at least one default rule to fire.
EVIDENCE: dict[str, Observations] = {
    "patterns": Observations(
        patterns={"hesitant": 0.8, "irritated": 0.7, "urgent": 0.3},
        evidence={
            "hesitant": {"dwell_price": 0.3, "price_returns_loops": 0.25},
            "irritated": {"rage_clicks": 0.4, "dead_clicks": 0.2},
        },
    ),
    "tones": Observations(tones={"irritation": 0.8, "urgency": 0.2}),
    "topics": Observations(topics={"returns": 3, "warranty": 1}),
    "face": Observations(affect=tuple(window() for _ in range(4))),
}
CAMERA_OFF = site_playbook("[face]\nenabled = false\n")


def every_rule_tried(profile: Profile, playbook: Playbook) -> list[Hint]:
    """What ``evaluate`` did before it skipped rules: each rule, strongest first, then fused."""
    hints: list[Hint] = []
    for rule in sorted(playbook.rules, key=lambda r: (-r.priority, r.id)):
        hints += _fire(rule, profile, playbook, (), NOW)
    return fuse(hints)


def with_evidence(kinds: tuple[str, ...]) -> Profile:
    profile = Profile()
    for kind in kinds:
        profile = apply_observations(profile, session="s-1", at=NOW, observations=EVIDENCE[kind])
    return profile


COMBINATIONS = [c for n in range(len(EVIDENCE) + 1) for c in itertools.combinations(EVIDENCE, n)]


@pytest.mark.parametrize("kinds", COMBINATIONS, ids=lambda c: "+".join(c) or "nothing")
@pytest.mark.parametrize("playbook", [default_playbook(), CAMERA_OFF], ids=["camera", "no-camera"])
def test_the_hints_are_those_of_trying_every_rule(
    kinds: tuple[str, ...], playbook: Playbook
) -> None:
    profile = with_evidence(kinds)
    assert evaluate(profile, playbook, now=NOW) == every_rule_tried(profile, playbook)


def test_each_kind_of_evidence_fires_a_rule_of_its_own() -> None:
    """The cases above compare something: every kind of evidence alone gives a hint."""
    for kind in EVIDENCE:
        hints = evaluate(with_evidence((kind,)), default_playbook(), now=NOW)
        assert hints, kind


def test_a_pattern_from_an_earlier_session_fires_nothing() -> None:
    earlier = apply_observations(
        Profile(), session="s-0", at=NOW - 3_600, observations=EVIDENCE["patterns"]
    )
    now = apply_observations(earlier, session="s-1", at=NOW, observations=EVIDENCE["tones"])
    assert [h.pattern for h in evaluate(now, default_playbook(), now=NOW)] == ["irritation"]
    assert evaluate(now, default_playbook(), now=NOW) == every_rule_tried(now, default_playbook())
