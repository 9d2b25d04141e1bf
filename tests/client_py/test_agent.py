"""The worker's entry point: JSON messages in, requests to send and hints to show out."""

import json

import pytest

from rapport.client_py.agent import Agent

T = 1_700_000_000_000.0
CONFIG = json.dumps({"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22})


def handle(agent: Agent, message: object, now: float) -> dict[str, object]:
    return dict(json.loads(agent.handle(json.dumps(message), now)))


def hesitant_events() -> list[list[object]]:
    return [
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["act", T],
        ["act", T + 5_000],
        ["out", T + 9_000, "price", "sku-1"],
        ["in", T + 9_000, "returns", "sku-1"],
        ["act", T + 9_000],
        ["act", T + 14_000],
        ["out", T + 18_000, "returns", "sku-1"],
    ]


def test_events_produce_one_batch_of_schema_signals() -> None:
    agent = Agent(CONFIG)
    reply = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)
    sends = reply["send"]
    assert isinstance(sends, list) and len(sends) == 1
    body = json.loads(sends[0]["body"])
    assert set(body) == {"site", "key", "session", "batch", "signals"}
    assert body["batch"] == sends[0]["batch"]
    assert {"kind": "pattern", "name": "hesitant", "score": 0.9} in body["signals"]


def test_hints_from_the_server_are_handed_to_the_page_once() -> None:
    agent = Agent(CONFIG)
    batch = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)["send"][0]["batch"]  # type: ignore[index]
    hint = {"id": "hesitant.reassure", "kind": "reassure", "pattern": "hesitant"}
    result = {"t": "result", "batch": batch, "status": 200, "body": {"hints": [hint]}}
    assert handle(agent, result, T + 18_100)["hints"] == [hint]
    assert handle(agent, {**result, "batch": "other"}, T + 18_200)["hints"] is None


def test_a_hint_whose_strength_changed_is_handed_to_the_page_again() -> None:
    agent = Agent(CONFIG)
    batch = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)["send"][0]["batch"]  # type: ignore[index]
    weak = {"id": "hesitant.reassure", "kind": "reassure", "pattern": "hesitant", "strength": 0.64}
    strong = {**weak, "strength": 0.9}
    handle(agent, {"t": "result", "batch": batch, "status": 200, "body": {"hints": [weak]}}, T)
    result = {"t": "result", "batch": batch, "status": 200, "body": {"hints": [strong]}}
    assert handle(agent, result, T + 1)["hints"] == [strong]


def test_an_empty_hint_list_is_not_news_for_the_page() -> None:
    agent = Agent(CONFIG)
    batch = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)["send"][0]["batch"]  # type: ignore[index]
    result = {"t": "result", "batch": batch, "status": 200, "body": {"hints": []}}
    assert handle(agent, result, T + 18_100)["hints"] is None


def test_a_failed_send_is_retried_with_the_same_batch_id() -> None:
    agent = Agent(CONFIG)
    batch = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)["send"][0]["batch"]  # type: ignore[index]
    handle(agent, {"t": "result", "batch": batch, "status": 0, "body": None}, T + 18_100)
    retry = handle(agent, {"t": "tick"}, T + 20_000)["send"]
    assert [item["batch"] for item in retry] == [batch]  # type: ignore[union-attr]


def test_flush_sends_what_is_queued_with_keepalive() -> None:
    agent = Agent(CONFIG)
    handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)
    reply = handle(
        agent, {"t": "ev", "e": [["clk", T + 19_000, 1, 2], ["clk", T + 19_001, 1, 2]]}, T + 19_100
    )
    assert reply["send"] == []
    final = handle(agent, {"t": "flush"}, T + 19_200)["send"]
    assert isinstance(final, list) and len(final) == 1 and final[0]["keepalive"] is True


def test_state_carries_the_session_to_the_next_page() -> None:
    agent = Agent(CONFIG)
    handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)
    next_page = Agent(CONFIG, agent.state_json())
    assert next_page.features.dwell_seconds("price", "returns") == 18.0


def test_a_state_saved_for_another_visitor_is_not_restored() -> None:
    """The visitor was erased in another tab: this tab's next page runs a new visitor, and
    the erased one's session, unsent signals included, must not reach it."""
    agent = Agent(CONFIG)
    handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)  # one batch in flight
    handle(agent, {"t": "ev", "e": [["clk", T + 18_500, 1, 1]]}, T + 18_600)  # one queued
    new_visitor = json.dumps(json.loads(CONFIG) | {"key": "n" * 43})
    next_page = Agent(new_visitor, agent.state_json())
    assert next_page.features.dwell_seconds("price", "returns") == 0.0
    assert next_page.outbox.in_flight is None and not next_page.outbox.queue
    fresh = Agent(new_visitor)  # what a new visitor's first tick sends, and nothing more
    assert sent_signals(handle(next_page, {"t": "tick"}, T + 19_000)) == sent_signals(
        handle(fresh, {"t": "tick"}, T + 19_000)
    )


def test_a_state_saved_before_it_named_its_visitor_is_still_restored() -> None:
    agent = Agent(CONFIG)
    handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)
    older = json.loads(agent.state_json())
    del older["owner"]
    next_page = Agent(CONFIG, json.dumps(older))
    assert next_page.features.dwell_seconds("price", "returns") == 18.0


def test_unreadable_messages_are_ignored() -> None:
    agent = Agent(CONFIG)
    nothing = {"send": [], "hints": None, "state": None, "pace": None}
    assert json.loads(agent.handle("{not json", T)) == nothing


@pytest.mark.parametrize(
    "config",
    ['{"site": "nope", "key": "kkkkkkkkkk", "session": "ssssssssss"}', "[]", "{}"],
)
def test_a_bad_config_is_refused(config: str) -> None:
    with pytest.raises(ValueError):
        Agent(config)


# -- chat, configuration, offline queue, and the whole agent's privacy -----------------------
def sent_signals(reply: dict[str, object]) -> list[dict[str, object]]:
    return [s for item in reply["send"] for s in json.loads(item["body"])["signals"]]  # type: ignore[union-attr, index]


def test_chat_text_becomes_tone_and_topics_but_never_leaves() -> None:
    agent = Agent(CONFIG)
    text = "Где мой заказ?? Жду уже неделю!!!"
    reply = handle(agent, {"t": "ev", "e": [["pv", T], ["txt", T + 1, text]]}, T + 10)
    signals = sent_signals(reply)
    tones = {s["name"]: s["score"] for s in signals if s["kind"] == "tone"}
    assert tones["irritation"] >= 0.5 and tones["urgency"] >= 0.5  # type: ignore[operator]
    assert {"kind": "topic", "name": "order_status", "count": 1} in signals
    everything = json.dumps(reply) + agent.state_json()
    assert "заказ" not in everything and "неделю" not in everything


def test_patterns_carry_their_evidence_out() -> None:
    agent = Agent(CONFIG)
    signals = sent_signals(handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000))
    evidence = {(s["pattern"], s["feature"]) for s in signals if s["kind"] == "evidence"}
    assert ("hesitant", "dwell_price") in evidence
    assert {s["name"] for s in signals if s["kind"] == "pattern"} >= {"hesitant", "urgent"}


def test_the_site_can_configure_weights_at_start_and_later() -> None:
    config = json.loads(CONFIG) | {"config": [{"patterns": {"hesitant": {"dwell_price": 0.0}}}]}
    agent = Agent(json.dumps(config))
    signals = sent_signals(handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000))
    assert {"kind": "pattern", "name": "hesitant", "score": 0.5} in signals
    handle(agent, {"t": "cfg", "c": {"rules": {"rage_clicks": 2}}}, T + 18_001)
    assert agent.config.rules.rage_clicks == 2 and agent.features.rules.rage_clicks == 2


def test_unsent_signals_survive_a_navigation() -> None:
    agent = Agent(CONFIG)
    batch = handle(agent, {"t": "ev", "e": hesitant_events()}, T + 18_000)["send"][0]["batch"]  # type: ignore[index]
    handle(agent, {"t": "ev", "e": [["clk", T + 18_500, 1, 1]]}, T + 18_600)  # queued behind it
    next_page = Agent(CONFIG, agent.state_json())
    assert next_page.outbox.in_flight is not None and next_page.outbox.in_flight.id == batch
    assert next_page.outbox.queue
    retry = handle(next_page, {"t": "tick"}, T + 19_000)["send"]
    assert [item["batch"] for item in retry] == [batch]  # type: ignore[union-attr]


def test_a_returning_visitor_flag_is_read_from_the_config() -> None:
    agent = Agent(json.dumps(json.loads(CONFIG) | {"returning": True}))
    assert agent.config.returning is True


def test_finding_11_1_tracked_value_and_currency_reach_the_batch() -> None:
    """Issue 11, finding 1: rapport.track('purchase', {value, currency}) used to send nulls
    (the server turns a purchase's value into profile revenue: tests/server/test_profiles.py)."""
    agent = Agent(CONFIG)
    events = [["pv", T], ["trk", T + 1_000, "purchase", 129.9, "EUR"], ["act", T + 2_000]]
    body = handle(agent, {"t": "ev", "e": events}, T + 2_000)["send"][0]["body"]  # type: ignore[index]
    signals = json.loads(body)["signals"]
    assert {"kind": "action", "name": "purchase", "value": 129.9, "currency": "EUR"} in signals


def test_a_tracked_value_survives_a_navigation_until_it_is_sent() -> None:
    agent = Agent(CONFIG)
    handle(agent, {"t": "ev", "e": [["pv", T], ["trk", T + 1, "add_to_cart", 59, "USD"]]}, T + 1)
    restored = Agent(CONFIG, agent.state_json())
    assert restored.features.action_values == {"add_to_cart": (59.0, "USD")}
