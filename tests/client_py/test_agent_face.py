"""Camera frames through the agent: per-frame numbers in, only window aggregates out."""

import json
from typing import Any

from rapport.client_py.affect import (
    LABELS,
    MODEL_ORDER,
    AffectTracker,
    WindowAggregate,
    affect_signal,
)
from rapport.client_py.agent import Agent
from rapport.client_py.privacy import allowed_signal
from rapport.client_py.schema import EXPRESSIONS, SIGNALS

T = 1_700_000_000_000.0
CONFIG = json.dumps({"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22})
HAPPY = [0.1, 0.8, 0.02, 0.02, 0.02, 0.02, 0.02]  # model order: neutral, happy, …


def sent_signals(agent: Agent, message: object, now: float) -> list[dict[str, Any]]:
    reply = json.loads(agent.handle(json.dumps(message), now))
    out: list[dict[str, Any]] = []
    for item in reply["send"]:
        body = json.loads(item["body"])
        out.extend(body["signals"])
        agent.handle(json.dumps({"t": "result", "batch": item["batch"], "status": 200}), now)
    return out


def frames(agent: Agent, start: float, count: int, probs: object, every: float = 200) -> list[Any]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        t = start + i * every
        out += sent_signals(agent, {"t": "face", "ts": t, "p": probs, "f": 0.9}, t)
    return out


def test_the_schema_expressions_are_the_tracker_labels() -> None:
    assert EXPRESSIONS == LABELS and set(MODEL_ORDER) == set(LABELS)


def test_frames_become_one_affect_signal_per_window_and_nothing_per_frame() -> None:
    agent = Agent(CONFIG)
    signals = frames(agent, T, 60, HAPPY)  # 12 s at 5 fps
    affect = [s for s in signals if s["kind"] == "affect"]
    assert len(affect) == 2
    assert all(s["kind"] == "affect" for s in signals)  # frames add no other signal
    first = affect[0]
    assert first["dominant"] == "happy" and first["happy"] == 0.8 and first["frames"] == 25
    assert first["presence"] == 1.0 and first["attention"] == 1.0 and first["seconds"] == 5.0
    assert all(allowed_signal(s) for s in affect)
    assert set(first) | {"section"} == {"kind", *SIGNALS["affect"].fields}
    assert "section" not in first  # no declared section was in view


def test_no_face_frames_count_as_absence() -> None:
    agent = Agent(CONFIG)
    signals = frames(agent, T, 30, None)
    (window,) = [s for s in signals if s["kind"] == "affect"]
    assert window["presence"] == 0.0 and window["dominant"] is None and window["happy"] is None
    assert allowed_signal(window)


def test_stopping_the_camera_sends_the_partial_window_and_starts_afresh() -> None:
    agent = Agent(CONFIG)
    frames(agent, T, 10, HAPPY)
    signals = sent_signals(agent, {"t": "cam", "on": False}, T + 2_000)
    (window,) = [s for s in signals if s["kind"] == "affect"]
    assert window["frames"] == 10
    assert agent.affect.baseline is None


def test_malformed_frames_are_skipped() -> None:
    agent = Agent(CONFIG)
    for bad in ([1, 2], ["x"] * 7, [0] * 7, "happy", {"happy": 1}):
        agent.handle(json.dumps({"t": "face", "ts": T, "p": bad, "f": 1}), T)
    agent.handle(json.dumps({"t": "face", "ts": T + 10, "p": HAPPY, "f": 1}), T + 10)
    agent.handle(json.dumps({"t": "face", "ts": T, "p": HAPPY, "f": 1}), T + 20)  # out of order
    (window,) = agent.affect.flush(T + 30)
    assert window.frames == 1 and window.presence == 1.0


def test_the_signal_is_bounded_and_flat() -> None:
    window = WindowAggregate(0, 5_000, 25, 1.0, 0.8, dict.fromkeys(LABELS, 1 / 7), "neutral",
                             0.0, 0.0, {"surprised": 2, "happy": 1})  # fmt: skip
    signal = affect_signal(window)
    assert signal["micro"] == 3 and signal["micro_label"] == "surprised"
    assert allowed_signal(signal)
    assert not allowed_signal({**signal, "frame": [0, 1]})
    assert not allowed_signal({**signal, "valence": 1.5})
    tracker = AffectTracker()
    tracker.update(0, dict.fromkeys(LABELS, 1.0))
    (only,) = tracker.flush(100)
    assert allowed_signal(only.to_signal())


def test_the_reply_says_when_the_camera_should_slow_down_and_speed_up() -> None:
    agent = Agent(CONFIG)

    def pace(t: float, probs: object) -> object:
        reply = json.loads(agent.handle(json.dumps({"t": "face", "ts": t, "p": probs}), t))
        return reply["pace"]

    assert pace(T, HAPPY) is None
    assert [pace(T + i * 1_000, None) for i in range(1, 11)] == [None] * 9 + ["idle"]
    assert pace(T + 11_000, None) is None
    assert pace(T + 12_000, HAPPY) == "active"
    # other messages never carry a pace
    assert json.loads(agent.handle(json.dumps({"t": "tick"}), T + 12_500))["pace"] is None


def test_stopping_the_camera_forgets_the_pace() -> None:
    agent = Agent(CONFIG)
    for i in range(12):
        agent.handle(json.dumps({"t": "face", "ts": T + i * 1_000, "p": None}), T + i * 1_000)
    assert agent.pace.pace == "idle"
    agent.handle(json.dumps({"t": "cam", "on": False}), T + 13_000)
    assert agent.pace.pace == "active"  # the next consent starts at the site's rate


UPSET = [0.1, 0.0, 0.3, 0.6, 0.0, 0.0, 0.0]  # model order: neutral, happy, sad, angry, …


def events(agent: Agent, *raw: list[object]) -> None:
    sent_signals(agent, {"t": "ev", "e": list(raw)}, T)  # acknowledged: nothing in flight


def test_an_affect_window_names_the_section_in_view_for_most_of_it() -> None:
    agent = Agent(CONFIG)
    events(agent, ["pv", T], ["in", T, "reviews"], ["out", T + 1_000, "reviews"],
           ["in", T + 1_000, "price", "sku-1"])  # fmt: skip
    (window,) = [s for s in frames(agent, T, 26, UPSET) if s["kind"] == "affect"]
    assert window["section"] == "price" and window["dominant"] == "angry"
    assert allowed_signal(window)
    assert set(window) <= {"kind", *SIGNALS["affect"].fields}  # the item never rides along


def test_a_section_in_view_only_while_the_tab_was_hidden_does_not_count() -> None:
    agent = Agent(CONFIG)
    events(agent, ["pv", T], ["in", T, "price"], ["vis", T + 500, 0], ["in", T + 600, "specs"],
           ["out", T + 700, "price"], ["vis", T + 2_000, 1])  # fmt: skip
    (window,) = [s for s in frames(agent, T, 26, UPSET) if s["kind"] == "affect"]
    assert window["section"] == "specs"  # 3 s visible vs price's 0.5 s


def test_a_section_outside_the_schema_never_reaches_an_affect_window() -> None:
    agent = Agent(CONFIG)
    events(agent, ["pv", T], ["in", T, "https://shop.example/p?q=ann"], ["in", T, "Ann's cart"])
    (window,) = [s for s in frames(agent, T, 26, UPSET) if s["kind"] == "affect"]
    assert "section" not in window


def test_an_affect_window_goes_out_at_once() -> None:
    agent = Agent(CONFIG)
    for i in range(25):
        agent.handle(json.dumps({"t": "face", "ts": T + i * 200, "p": UPSET, "f": 1}), T + i * 200)
    reply = json.loads(
        agent.handle(json.dumps({"t": "face", "ts": T + 5_000, "p": UPSET}), T + 5_000)
    )
    assert [s["kind"] for s in json.loads(reply["send"][0]["body"])["signals"]] == ["affect"]


def test_face_hints_are_dropped_one_window_after_the_camera_stops() -> None:
    agent = Agent(CONFIG)
    face = {"id": "face_frustrated_price.reassure", "source": "face", "strength": 0.6}
    chat = {"id": "chat_urgency.simplify", "source": "chat", "strength": 0.7}
    frames(agent, T, 26, UPSET)
    agent._on_result({"batch": "x", "status": 200, "body": {"hints": [face, chat]}}, T + 5_200)
    assert [h["id"] for h in agent.hints] == [face["id"], chat["id"]]
    agent.handle(json.dumps({"t": "cam", "on": False}), T + 6_000)
    assert json.loads(agent.handle(json.dumps({"t": "tick"}), T + 9_000))["hints"] is None
    reply = json.loads(agent.handle(json.dumps({"t": "tick"}), T + 11_000))
    assert [h["id"] for h in reply["hints"]] == [chat["id"]]
    # a late answer that still carries the face hint does not bring it back
    agent._on_result({"batch": "y", "status": 200, "body": {"hints": [face, chat]}}, T + 12_000)
    assert [h["id"] for h in agent.hints] == [chat["id"]]


def test_a_face_hints_moved_expiry_reaches_the_page_but_a_behaviour_hints_does_not() -> None:
    agent = Agent(CONFIG)
    face = {"id": "face_frustrated.reassure", "source": "face", "strength": 1.0, "expires_at": 10}
    hesitant = {"id": "hesitant.reassure", "source": "behaviour", "strength": 0.7, "expires_at": 9}
    assert agent._on_result({"batch": "a", "status": 200, "body": {"hints": [hesitant]}}, T)
    moved = {**hesitant, "expires_at": 99}
    assert not agent._on_result({"batch": "b", "status": 200, "body": {"hints": [moved]}}, T)
    assert agent._on_result({"batch": "c", "status": 200, "body": {"hints": [moved, face]}}, T)
    later = {**face, "expires_at": 15}
    assert agent._on_result({"batch": "d", "status": 200, "body": {"hints": [moved, later]}}, T)
