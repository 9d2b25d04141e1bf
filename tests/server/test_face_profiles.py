"""Camera affect windows → profile observations, relative to the visitor's own baseline."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from rapport.server.ingest.extract import extract_observations
from rapport.server.ingest.schema import BATCH_DECODER
from rapport.server.profiles import Observations, Profile, apply_observations
from rapport.server.profiles.affect import HISTORY_HALF_LIFE_DAYS, RECENT, AffectObservation
from tests.server.affect_windows import window

NOW = 1_800_000_000.0


def observe(profile: Profile, *windows: AffectObservation, session: str = "s1",
            at: float = NOW) -> Profile:  # fmt: skip
    return apply_observations(
        profile, session=session, at=at, observations=Observations(affect=tuple(windows))
    )


def test_an_affect_signal_becomes_an_observation_with_its_section() -> None:
    signal: dict[str, Any] = {
        "kind": "affect", "seconds": 5.0, "frames": 25, "presence": 1.0, "attention": 0.8,
        "dominant": "sad", "valence": -0.5, "arousal": -0.2, "surprised": 0.05, "micro": 1,
        "section": "price",
    }  # fmt: skip
    body = {"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22, "batch": "b" * 22,
            "signals": [signal]}  # fmt: skip
    observations = extract_observations(BATCH_DECODER.decode(msgspec.json.encode(body)).signals)
    assert observations.affect == (
        AffectObservation(seconds=5.0, presence=1.0, attention=0.8, dominant="sad",
                          valence=-0.5, arousal=-0.2, surprised=0.05, micro=1, section="price"),
    )  # fmt: skip
    assert observations  # a batch of only affect windows still updates the profile


def test_values_are_relative_to_the_visitors_neutral_baseline() -> None:
    # this visitor's resting face reads a little negative
    profile = observe(Profile(), *[window(-0.2, dominant="neutral", section=None)] * 8)
    baseline = profile.face.baseline
    assert baseline.valence == pytest.approx(-0.16, abs=0.01)  # 8 windows + the neutral prior
    profile = observe(profile, window(-0.5))
    last = profile.current.affect.recent[-1]
    assert last.valence == pytest.approx(-0.5 - baseline.valence, abs=0.001)
    assert last.negative and last.section == "price"


def test_a_fresh_visitor_is_measured_against_the_neutral_point() -> None:
    profile = observe(Profile(), window(-0.45))
    assert profile.current.affect.recent[-1].valence == -0.45


def test_each_section_keeps_windows_mean_valence_and_negative_share() -> None:
    profile = observe(Profile(), window(-0.4), window(-0.2, dominant="neutral"),
                      window(0.5, dominant="happy", section="reviews"))  # fmt: skip
    price = profile.current.affect.sections["price"]
    assert (price.windows, price.negative) == (2, 0.5)
    assert price.valence == pytest.approx(-0.3, abs=0.001)
    assert profile.current.affect.sections["reviews"].negative == 0.0


def test_the_session_state_counts_surprise_spikes_micro_expressions_and_attention() -> None:
    profile = observe(Profile(), window(0.1, dominant="surprised", surprised=0.6, micro=2),
                      window(0.0, dominant="neutral", attention=0.5))  # fmt: skip
    state = profile.current.affect
    assert (state.windows, state.surprise_spikes, state.micro) == (2, 1, 2)
    assert state.attention == 0.75 and state.negative == 0.0


def test_windows_with_low_presence_are_ignored() -> None:
    profile = observe(Profile(), window(-0.9, presence=0.4), window(-0.9, presence=0.0))
    state = profile.current.affect
    assert (state.windows, state.ignored, state.recent, state.sections) == (0, 2, [], {})


def test_the_rolling_state_keeps_only_the_recent_windows() -> None:
    profile = observe(Profile(), *[window(-0.3)] * (RECENT + 5))
    assert len(profile.current.affect.recent) == RECENT
    assert profile.current.affect.windows == RECENT + 5


def test_a_new_visit_keeps_only_a_coarse_decaying_summary_and_the_baseline() -> None:
    first = observe(Profile(), window(-0.4), window(0.0, dominant="neutral"))
    second = observe(first, window(0.0, dominant="neutral"), session="s2", at=NOW + 86_400)
    assert second.current.affect.recent[0].section == "price"  # the new session's window
    assert len(second.current.affect.recent) == 1
    history = second.face
    assert (history.sessions, history.negative) == (1.0, 0.5)
    assert history.baseline.weight == first.face.baseline.weight + 1  # the baseline carries on
    later = HISTORY_HALF_LIFE_DAYS * 86_400
    third = observe(second, window(0.0, dominant="neutral"), session="s3", at=NOW + later)
    assert third.face.sessions == pytest.approx(1.0 + 0.5, abs=0.05)  # s1 decayed by half


def test_the_stored_profile_round_trips_with_its_affect() -> None:
    from rapport.server.profiles import decode_profile, encode_profile

    profile = observe(Profile(), window(-0.4), window(0.1, dominant="neutral"))
    assert decode_profile(encode_profile(profile)) == profile
    assert '"face"' in encode_profile(profile)
    old = decode_profile('{"version": 2, "visits": 3}')  # rows written before affect existed
    assert old.current.affect.windows == 0 and old.face.sessions == 0.0
