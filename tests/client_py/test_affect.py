"""client_py.affect: smoothing, baseline, micro-expressions, valence/arousal, windows.

Pure Python (these tests also run inside Pyodide, where there is no numpy).
"""

from __future__ import annotations

import math

import pytest

from rapport.client_py.affect import (
    CIRCUMPLEX,
    LABELS,
    MODEL_ORDER,
    AffectConfig,
    AffectTracker,
    arousal,
    from_model_order,
    normalise,
    valence,
)

FPS_MS = 100.0  # 10 frames per second


def probs(label: str, p: float = 0.9) -> dict[str, float]:
    rest = (1.0 - p) / (len(LABELS) - 1)
    return {k: (p if k == label else rest) for k in LABELS}


NEUTRAL = probs("neutral", 0.9)


def feed(
    tracker: AffectTracker,
    start: float,
    seconds: float,
    frame: dict[str, float] | None,
    frontal: float = 1.0,
) -> float:
    t = start
    for _ in range(round(seconds * 1000 / FPS_MS)):
        tracker.update(t, frame, frontal)
        t += FPS_MS
    return t


def test_normalise_renormalises_and_rejects_bad_input() -> None:
    out = normalise({k: 2.0 for k in LABELS})
    assert math.isclose(sum(out.values()), 1.0)
    assert out["happy"] == pytest.approx(1 / 7)
    assert normalise({**dict.fromkeys(LABELS, 0.0), "sad": -1.0, "happy": 1.0})["sad"] == 0.0
    with pytest.raises(ValueError, match="missing"):
        normalise({"happy": 1.0})
    with pytest.raises(ValueError, match="not finite"):
        normalise({**NEUTRAL, "happy": float("nan")})
    with pytest.raises(ValueError, match="sum to 0"):
        normalise(dict.fromkeys(LABELS, 0.0))


def test_from_model_order_maps_face_api_output_order() -> None:
    row = [0.0] * 7
    row[MODEL_ORDER.index("surprised")] = 1.0
    assert from_model_order(row)["surprised"] == 1.0
    with pytest.raises(ValueError):
        from_model_order([1.0, 0.0])


def test_valence_and_arousal_follow_the_circumplex() -> None:
    assert valence(probs("happy", 1.0)) == pytest.approx(CIRCUMPLEX["happy"][0])
    assert arousal(probs("surprised", 1.0)) == pytest.approx(CIRCUMPLEX["surprised"][1])
    assert valence(probs("neutral", 1.0)) == 0.0
    assert valence(probs("sad", 1.0)) < 0 < valence(probs("happy", 1.0))
    assert arousal(probs("sad", 1.0)) < 0 < arousal(probs("angry", 1.0))
    for v, a in CIRCUMPLEX.values():
        assert -1 <= v <= 1 and -1 <= a <= 1


def test_smoothing_is_a_time_aware_ema() -> None:
    tracker = AffectTracker(AffectConfig(smooth_half_life_ms=300))
    tracker.update(0, probs("neutral", 1.0))
    state = tracker.update(300, probs("happy", 1.0))  # one half-life later: halfway
    assert state.smoothed is not None
    assert state.smoothed["happy"] == pytest.approx(0.5)
    assert state.smoothed["neutral"] == pytest.approx(0.5)
    # a single outlier frame at 30 fps moves the smoothed value only a little
    tracker2 = AffectTracker()
    t = 0.0
    for _ in range(30):
        tracker2.update(t, NEUTRAL)
        t += 33
    s = tracker2.update(t, probs("angry", 1.0)).smoothed
    assert s is not None and s["angry"] < 0.15


def test_smoothing_resets_after_a_long_absence() -> None:
    tracker = AffectTracker(AffectConfig(reset_after_ms=1_000))
    feed(tracker, 0, 1, probs("sad", 1.0))
    tracker.update(1_500, None)
    state = tracker.update(3_000, probs("happy", 1.0))
    assert state.smoothed is not None and state.smoothed["happy"] == pytest.approx(1.0)


def test_presence_and_attention() -> None:
    tracker = AffectTracker()
    assert tracker.update(0, None).present is False
    s = tracker.update(100, NEUTRAL, frontal=0.9)
    assert s.present and s.attentive
    s = tracker.update(200, NEUTRAL, frontal=0.2)
    assert s.present and not s.attentive
    assert tracker.update(300, NEUTRAL, frontal=float("nan")).attentive is False


def test_baseline_is_personal() -> None:
    # a face the classifier reads as somewhat "sad" at rest
    resting = {**dict.fromkeys(LABELS, 0.05), "neutral": 0.45, "sad": 0.3}
    tracker = AffectTracker(AffectConfig(baseline_frames=10))
    feed(tracker, 0, 0.5, resting)
    assert tracker.baseline is None
    feed(tracker, 500, 2, resting)
    base = tracker.baseline
    assert base is not None
    assert base["sad"] == pytest.approx(normalise(resting)["sad"])
    # resting sadness is not an event
    t = feed(tracker, 2_500, 3, resting)
    assert all(tracker.update(t, resting).event is None for _ in range(1))


def test_brief_strong_departure_is_a_micro_expression() -> None:
    tracker = AffectTracker()
    t = feed(tracker, 0, 3, NEUTRAL)
    events = []
    for frame in (probs("disgusted", 0.8), probs("disgusted", 0.85), NEUTRAL, NEUTRAL):
        state = tracker.update(t, frame)
        if state.event:
            events.append(state.event)
        t += FPS_MS
    assert len(events) == 1
    ev = events[0]
    assert ev.label == "disgusted"
    assert ev.duration_ms == pytest.approx(200)
    assert ev.peak > 0.6
    # the baseline did not absorb it
    assert tracker.baseline is not None and tracker.baseline["disgusted"] < 0.05


def test_sustained_expression_is_not_a_micro_expression() -> None:
    tracker = AffectTracker()
    t = feed(tracker, 0, 3, NEUTRAL)
    events = []
    for frame in [probs("happy", 0.9)] * 20 + [NEUTRAL] * 3:  # 2 s smile
        state = tracker.update(t, frame)
        if state.event:
            events.append(state.event)
        t += FPS_MS
    assert events == []


def test_no_micro_expression_before_the_baseline_or_when_the_face_is_lost() -> None:
    tracker = AffectTracker()
    assert tracker.update(0, probs("angry", 0.9)).event is None
    t = feed(tracker, 100, 3, NEUTRAL)
    tracker.update(t, probs("angry", 0.9))
    tracker.update(t + 100, None)
    assert tracker.update(t + 200, NEUTRAL).event is None


def test_window_aggregates_are_coarse_and_complete() -> None:
    tracker = AffectTracker(AffectConfig(window_ms=5_000))
    t = feed(tracker, 0, 4, NEUTRAL)  # 0–4 s neutral, frontal
    t = feed(tracker, t, 1, None)  # 4–5 s no face
    t = feed(tracker, t, 5, probs("happy", 0.9), frontal=0.3)  # 5–10 s happy, turned away
    tracker.update(t, NEUTRAL)  # 10 s: closes the second window
    first, second = tracker.pop_windows()
    assert tracker.pop_windows() == []
    assert (first.start_ms, first.end_ms, first.frames) == (0, 5_000, 50)
    assert first.presence == 0.8 and first.attention == 0.8
    assert first.dominant == "neutral" and first.emotions is not None
    assert first.emotions["neutral"] == 0.9
    assert second.dominant == "happy" and second.attention == 0.0 and second.presence == 1.0
    assert second.valence is not None and second.valence > 0.5
    d = second.to_dict()
    assert set(d) == {
        "start_ms",
        "end_ms",
        "frames",
        "presence",
        "attention",
        "emotions",
        "dominant",
        "valence",
        "arousal",
        "micro_expressions",
    }
    # only rounded numbers and closed labels
    assert all(round(v, 2) == v for v in second.to_dict()["emotions"].values())  # type: ignore[union-attr]


def test_windows_count_micro_expressions_and_skip_gaps() -> None:
    tracker = AffectTracker(AffectConfig(window_ms=5_000))
    t = feed(tracker, 0, 3, NEUTRAL)
    for frame in (probs("surprised", 0.9), NEUTRAL):
        tracker.update(t, frame)
        t += FPS_MS
    # a 20 s gap (tab hidden): no empty windows in between
    tracker.update(25_000, NEUTRAL)
    windows = tracker.flush(26_000)
    assert [w.start_ms for w in windows] == [0, 25_000]
    assert windows[0].micro_expressions == {"surprised": 1}
    assert windows[1].frames == 1 and windows[1].end_ms == 26_000
    assert tracker.flush(27_000) == []


def test_window_without_faces_has_no_emotions() -> None:
    tracker = AffectTracker()
    feed(tracker, 0, 2, None)
    (w,) = tracker.flush(2_000)
    assert w.presence == 0.0 and w.emotions is None and w.dominant is None and w.valence is None


def test_rejects_bad_time_and_config() -> None:
    tracker = AffectTracker()
    tracker.update(1_000, NEUTRAL)
    with pytest.raises(ValueError, match="time order"):
        tracker.update(500, NEUTRAL)
    with pytest.raises(ValueError):
        tracker.update(float("inf"), NEUTRAL)
    with pytest.raises(ValueError):
        AffectConfig(micro_onset=0.1, micro_offset=0.2)
    with pytest.raises(ValueError):
        AffectConfig(window_ms=0)
