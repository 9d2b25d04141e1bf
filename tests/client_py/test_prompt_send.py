"""When a change may alter the visitor's hints, the agent sends it at once (skipping the
outbox's pacing once); a visitor who just reads keeps the normal pace."""

import itertools
import json

from rapport.client_py.agent import Agent
from rapport.client_py.signals import HINT_THRESHOLDS, hint_relevant

T = 1_700_000_000_000.0
CONFIG = json.dumps(
    {"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22, "flush_ms": 2_000}
)


def handle(agent: Agent, message: object, now: float) -> dict[str, object]:
    return dict(json.loads(agent.handle(json.dumps(message), now)))


def sent(reply: dict[str, object]) -> list[dict[str, object]]:
    sends = reply["send"]
    assert isinstance(sends, list)
    return [json.loads(s["body"]) for s in sends]


def answer(agent: Agent, reply: dict[str, object], now: float) -> dict[str, object]:
    """The server's 200 for every batch of ``reply``; returns the agent's last reply."""
    out = reply
    for body in sent(reply):
        out = handle(agent, {"t": "result", "batch": body["batch"], "status": 200}, now)
    return out


def started(now: float) -> Agent:
    agent = Agent(CONFIG)
    first = handle(agent, {"t": "ev", "e": [["pv", now], ["in", now, "specs", "sku-1"]]}, now)
    assert len(sent(first)) == 1  # the first batch goes at once, as before
    assert sent(answer(agent, first, now + 50)) == []
    return agent


def pattern(name: str, score: float) -> dict[str, object]:
    return {"kind": "pattern", "name": name, "score": score}


def evidence(name: str, feature: str, points: float) -> dict[str, object]:
    return {"kind": "evidence", "pattern": name, "feature": feature, "points": points}


def test_a_threshold_crossing_either_way_is_hint_relevant() -> None:
    low, high = min(HINT_THRESHOLDS) - 0.01, max(HINT_THRESHOLDS)
    assert hint_relevant({"pattern|hesitant": low}, [pattern("hesitant", high)])
    assert hint_relevant({"pattern|hesitant": high}, [pattern("hesitant", low)])
    assert hint_relevant({}, [{"kind": "tone", "name": "irritation", "score": 0.7}])


def test_a_slow_drift_below_or_above_the_thresholds_is_not() -> None:
    assert not hint_relevant({"pattern|hesitant": 0.30}, [pattern("hesitant", 0.34)])
    assert not hint_relevant({"pattern|hesitant": 0.70}, [pattern("hesitant", 0.74)])
    assert not hint_relevant({}, [{"kind": "dwell", "section": "price", "item": None,
                                   "seconds": 9.0}])  # fmt: skip


def test_a_jump_of_point_two_is_hint_relevant_anywhere() -> None:
    assert hint_relevant({"pattern|irritated": 0.0}, [pattern("irritated", 0.4)])
    assert hint_relevant({"pattern|irritated": 0.9}, [pattern("irritated", 0.7)])


def test_reaching_the_evidence_a_rule_needs_is_hint_relevant() -> None:
    before = {"pattern|hesitant": 0.7, "evidence|hesitant|dwell_price": 0.4}
    assert hint_relevant(before, [evidence("hesitant", "dwell_reassure", 0.3)])
    assert not hint_relevant(
        {"pattern|hesitant": 0.3, "evidence|hesitant|dwell_price": 0.3},
        [evidence("hesitant", "dwell_reassure", 0.05)],
    )  # too low a score for any rule


def test_a_chat_message_is_sent_at_once() -> None:
    agent = started(T)
    reply = handle(
        agent, {"t": "ev", "e": [["txt", T + 300, "Where is my order?? NOW!!!"]]}, T + 300
    )
    bodies = sent(reply)
    assert len(bodies) == 1  # 300 ms after the last batch: the 2 s interval is skipped
    kinds = {(s["kind"], s.get("name")) for s in bodies[0]["signals"]}
    assert ("tone", "irritation") in kinds


def test_a_rage_click_burst_is_sent_at_once() -> None:
    agent = started(T)
    clicks = [["clk", T + 400 + 200 * i, 100, 100, "specs", "sku-1"] for i in range(3)]
    clicks += [["clk", T + 1_400 + 200 * i, 500, 300, "specs", "sku-1"] for i in range(3)]
    reply = handle(agent, {"t": "ev", "e": clicks}, T + 1_900)
    bodies = sent(reply)
    assert len(bodies) == 1
    scores = {s["name"]: s["score"] for s in bodies[0]["signals"] if s["kind"] == "pattern"}
    assert scores["irritated"] >= 0.2


def test_a_reading_visitor_keeps_the_normal_pace() -> None:
    agent = started(T)
    now, times = T, []
    for second in range(1, 31):  # 30 s on the specs: dwell grows, nothing crosses a threshold
        now = T + second * 1_000
        reply = handle(agent, {"t": "ev", "e": [["act", now]]}, now)
        if sent(reply):
            times.append(now)
            answer(agent, reply, now + 50)
    assert times, "reading still sends its dwell"
    assert all(b - a >= 2_000 for a, b in itertools.pairwise(times))


def test_only_one_batch_is_in_flight_even_when_hurried() -> None:
    agent = started(T)
    first = handle(agent, {"t": "ev", "e": [["txt", T + 300, "This is terrible!!!"]]}, T + 300)
    assert len(sent(first)) == 1
    second = handle(agent, {"t": "ev", "e": [["txt", T + 400, "Where is my order??"]]}, T + 400)
    assert sent(second) == []  # the first is still in flight
    after = answer(agent, first, T + 500)
    bodies = sent(after)
    assert len(bodies) == 1  # the hurried change goes as soon as the answer is in
    assert bodies[0]["batch"] != sent(first)[0]["batch"]
