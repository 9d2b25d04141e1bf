"""Patterns from what the visitor did, not from what the page rendered (issue 17, issue 11 #5).

Each test is named after the finding it pins down; each failed on the code before the fix.
"""

from __future__ import annotations

import json

from rapport.client_py.agent import Agent
from rapport.client_py.events import parse_events
from rapport.client_py.features import SessionFeatures
from rapport.client_py.patterns import NEUTRAL_BELOW, score_all
from rapport.client_py.signals import SignalDiffer, current_signals
from rapport.client_py.tone import ToneSession

T = 1_700_000_000_000.0
SITE, KEY = "pk_test_0123456789", "k" * 43


def run(raw: list[list[object]], until: float | None = None) -> SessionFeatures:
    features = SessionFeatures()
    for event in parse_events(raw):
        features.apply(event)
    if until is not None:
        features.advance(until)
    return features


def scores(
    features: SessionFeatures, tone: ToneSession | None = None, *, returning: bool = False
) -> dict[str, float]:
    return {p.name: p.score for p in score_all(features, tone, returning=returning)}


def activity(start: float, seconds: int, every_ms: float = 1_000) -> list[list[object]]:
    """A visitor moving the pointer now and then (what the loader reports as ``act``)."""
    return [["act", start + i * every_ms] for i in range(int(seconds * 1_000 / every_ms))]


def listing(cards: int) -> list[list[object]]:
    """A listing page whose every card's price is marked and in view from the first moment."""
    return [["pv", T], *[["in", T, "price", f"card-{i}", 0.1] for i in range(cards)]]


# -- finding 1 ------------------------------------------------------------------------------------
def test_came_back_with_a_problem_for_first_time_visitors() -> None:
    """Order status in view the whole visit and "where is my order" in the chat, but no earlier
    session: not "came back with a problem"."""
    raw = [["pv", T], ["in", T, "order-status", None, 0.8], *activity(T, 25)]
    tone = ToneSession()
    tone.add("Where is my order? It has not arrived", T + 20_000)
    first_time = scores(run(raw, until=T + 25_000), tone)
    assert first_time["returning_with_problem"] == 0.0
    back = scores(run(raw, until=T + 25_000), tone, returning=True)
    assert back["returning_with_problem"] >= 0.55  # with a previous session it is the pattern


# -- finding 2 ------------------------------------------------------------------------------------
def _agent(returning: bool, state: str | None = None) -> Agent:
    config = {"site": SITE, "key": KEY, "session": "session-0001", "returning": returning}
    return Agent(json.dumps(config), state)


def _returning_evidence(agent: Agent) -> float:
    [pattern] = [p for p in agent.patterns() if p.name == "returning_with_problem"]
    return next(c.value for c in pattern.evidence if c.feature == "returning_visitor")


def test_a_new_visitor_is_returning_from_their_second_page_on() -> None:
    """The first session's page 1 creates the visitor id; page 2 must not count it as history."""
    page_1 = _agent(returning=False)
    page_1.handle(json.dumps({"t": "ev", "e": [["pv", T]]}), T + 100)
    page_2 = _agent(returning=True, state=page_1.state_json())  # what the old loader said
    assert _returning_evidence(page_2) == 0.0
    # and a visitor who did come back stays returning on every page of that session
    back_1 = _agent(returning=True)
    back_1.handle(json.dumps({"t": "ev", "e": [["pv", T]]}), T + 100)
    assert _returning_evidence(_agent(returning=False, state=back_1.state_json())) == 1.0


# -- finding 3 ------------------------------------------------------------------------------------
def test_researcher_needs_the_demos_reading_times() -> None:
    """Reading is measured against what there was to read: a specs table of 1.2 screens read
    for 11 s and reviews of 1 screen for 8 s are read through, on any page."""
    t1, t2 = T + 11_000, T + 19_000
    raw = [
        ["pv", T],
        ["in", T, "specs", "tent-2", 1.2],
        *activity(T, 11),
        ["cp", T + 5_000, "specs", "tent-2"],
        ["out", t1, "specs", "tent-2"],
        ["in", t1, "reviews", "tent-2", 1.0],
        *activity(t1, 8),
        ["out", t2, "reviews", "tent-2"],
        ["scr", t2, 1.0],
    ]
    tone = ToneSession()
    tone.add("What is the weight of the tent and the pole material?", t2)
    assert scores(run(raw, until=t2), tone)["researcher"] >= 0.75


def test_reading_time_follows_the_size_of_the_section() -> None:
    def read_for(size: float, seconds: int) -> float:
        raw = [["pv", T], ["in", T, "specs", None, size], *activity(T, seconds)]
        return run(raw, until=T + seconds * 1_000).read("specs")

    assert read_for(0.3, 6) == 1.0  # a short table is read in seconds
    assert read_for(2.0, 5) < 0.35  # two screens of specs are not
    assert read_for(2.0, 16) == 1.0


# -- finding 4 and issue 11 finding 5 --------------------------------------------------------
def test_passive_visitors_get_patterns() -> None:
    """Opening a listing and doing nothing: no dwell, no comparisons, neutral."""
    f = run(listing(6), until=T + 60_000)
    assert f.dwell_seconds("price") == 0.0
    assert f.counter("comparisons") == 0 and f.price_items == []
    result = scores(f)
    assert result["comparison_shopper"] == 0.0 and result["hesitant"] == 0.0
    assert max(result.values()) < NEUTRAL_BELOW


def test_finding_11_5_comparison_shopper_fired_for_every_visitor_on_a_marked_listing() -> None:
    """Issue 11 finding 5: items merely rendered are not compared; items the visitor gives
    attention to (pointer resting on them, clicks, attended time) are."""
    glance = run([*listing(8), *activity(T, 3)], until=T + 4_000)
    assert glance.counter("comparisons") == 0
    assert scores(glance)["comparison_shopper"] < NEUTRAL_BELOW
    compared = run(
        [
            *listing(8),
            *activity(T, 12),
            ["hov", T + 1_000, "price", "card-1"],
            ["hov", T + 3_000, "price", "card-4"],
            ["hov", T + 5_000, None],
            ["clk", T + 6_000, 300, 200, "price", "card-6"],
            ["hov", T + 7_000, "price", "card-1"],
            ["hov", T + 9_000, None],
        ],
        until=T + 12_000,
    )
    assert compared.counter("comparisons") == 3
    assert compared.price_items == ["card-1", "card-4", "card-6"]
    assert scores(compared)["comparison_shopper"] >= 0.6


def test_six_prices_in_view_are_not_six_times_the_dwell_on_price() -> None:
    f = run([*listing(6), *activity(T, 5)], until=T + 5_000)
    assert f.dwell_seconds("price") == 5.0


# -- finding 5 ------------------------------------------------------------------------------------
def test_irritation_evidence_lost_by_timing() -> None:
    """Rage clicks on a dead image, then typing into the chat: the image clicks stay dead."""
    burst = [["clk", T + 1_000 + i * 200, 400, 300] for i in range(4)]
    typing = [["fi", T + 2_400], ["clk", T + 2_450, 900, 650], *activity(T + 2_500, 3, 300)]
    f = run([["pv", T], *burst, *typing], until=T + 8_000)
    assert f.counter("rage_clicks") == 1
    assert f.counter("dead_clicks") == 4  # the chat click focused a field: it did something
    # rage clicks, then leaving the page at once: still dead
    left = run([["pv", T], *burst, ["end", T + 2_500]])
    assert left.counter("dead_clicks") == 4


def test_two_rage_click_bursts_count_separately() -> None:
    def burst(t: float) -> list[list[object]]:
        return [["clk", t + i * 150, 200, 200] for i in range(3)]

    same_page = run([["pv", T], *burst(T + 1_000), *burst(T + 4_000)])
    assert same_page.counter("rage_clicks") == 2
    two_pages = run([["pv", T], *burst(T + 1_000), ["pv", T + 2_000], *burst(T + 2_500)])
    assert two_pages.counter("rage_clicks") == 2


def test_a_click_answered_by_a_change_is_not_dead() -> None:
    f = run([["pv", T], ["clk", T + 1_000, 5, 5], ["chg", T + 2_000]], until=T + 9_000)
    assert f.counter("dead_clicks") == 0


# -- finding 6 ------------------------------------------------------------------------------------
def test_the_servers_evidence_lags_the_device() -> None:
    """When a score goes out, the evidence explaining it goes with it, however small its move:
    the server never quotes scroll depth 0.07 while the device has 0.10."""
    differ = SignalDiffer()
    raw: list[list[object]] = [
        ["pv", T],
        ["in", T, "specs", "a", 0.5],
        *activity(T, 4),
        ["scr", T + 3_000, 0.7],
    ]
    f = run(raw, until=T + 4_000)
    differ.changed(current_signals(f, score_all(f)))
    assert differ.last["evidence|researcher|scroll_depth"] == 0.07
    for event in parse_events([*activity(T + 4_000, 3), ["scr", T + 6_000, 1.0]]):
        f.apply(event)
    f.advance(T + 7_000)
    sent = differ.changed(current_signals(f, score_all(f)))
    assert {"kind": "pattern", "name": "researcher"}.items() <= next(
        s for s in sent if s["kind"] == "pattern" and s["name"] == "researcher"
    ).items()
    assert differ.last["evidence|researcher|scroll_depth"] == 0.1
    device = {
        c.feature: round(c.points, 2)
        for p in score_all(f)
        if p.name == "researcher"
        for c in p.evidence
        if c.points > 0
    }
    server = {
        k.split("|")[2]: v for k, v in differ.last.items() if k.startswith("evidence|researcher|")
    }
    assert server == device
