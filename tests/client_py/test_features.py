"""Session features: attended dwell, scroll, clicks, revisits, and the price/returns loop."""

from client_py.events import parse_events
from client_py.features import IDLE_AFTER_MS, SessionFeatures

T = 1_700_000_000_000.0


def run(*raw: list[object], until: float | None = None) -> SessionFeatures:
    features = SessionFeatures()
    for event in parse_events(list(raw)):
        features.apply(event)
    if until is not None:
        features.advance(until)
    return features


def test_dwell_counts_time_a_section_is_in_view() -> None:
    f = run(["pv", T], ["in", T, "price", "sku-1"], ["act", T + 5_000], until=T + 8_000)
    assert f.dwell_seconds("price") == 8.0


def test_dwell_stops_when_the_section_leaves_the_view() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["out", T + 3_000, "price", "sku-1"],
        until=T + 9_000,
    )
    assert f.dwell_seconds("price") == 3.0


def test_dwell_does_not_count_while_the_tab_is_hidden() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["vis", T + 2_000, 0],
        ["vis", T + 60_000, 1],
        until=T + 61_000,
    )
    assert f.dwell_seconds("price") == 3.0


def test_dwell_stops_after_the_idle_window_without_activity() -> None:
    f = run(["pv", T], ["in", T, "price", "sku-1"], until=T + IDLE_AFTER_MS + 100_000)
    assert f.dwell_seconds("price") == IDLE_AFTER_MS / 1000


def test_activity_resumes_dwell_after_idling() -> None:
    f = run(["pv", T], ["in", T, "price", None], ["act", T + 100_000], until=T + 105_000)
    assert f.dwell_seconds("price") == IDLE_AFTER_MS / 1000 + 5


def test_repeated_visibility_steps_of_one_section_do_not_restart_it() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["in", T + 1_000, "returns", "sku-1"],
        ["in", T + 2_000, "price", "sku-1"],
    )
    assert f.back_and_forth == 1


def test_going_between_price_and_returns_counts_loops() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "a"],
        ["out", T + 1, "price", "a"],
        ["in", T + 2, "returns", "a"],
        ["out", T + 3, "returns", "a"],
        ["in", T + 4, "price", "a"],
        ["out", T + 5, "price", "a"],
        ["in", T + 6, "warranty", "a"],
    )
    assert f.back_and_forth == 3


def test_scroll_depth_keeps_the_deepest_point_of_the_page() -> None:
    f = run(["pv", T], ["scr", T + 1, 0.7], ["scr", T + 2, 0.4])
    assert f.max_scroll == 0.7


def test_clicks_are_counted() -> None:
    f = run(["pv", T], ["clk", T + 1, 1, 1], ["clk", T + 2, 1, 1, "price", "a"])
    assert f.clicks == 2


def test_an_item_seen_on_a_later_page_is_a_revisit() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["pv", T + 10_000],
        ["in", T + 10_000, "specs", "sku-2"],
        ["pv", T + 20_000],
        ["in", T + 20_000, "price", "sku-1"],
        ["in", T + 20_001, "returns", "sku-1"],
    )
    assert f.revisits() == {"sku-1": 1}


def test_a_snapshot_restores_the_session_on_the_next_page() -> None:
    before = run(["pv", T], ["in", T, "price", "a"], ["trk", T + 1, "add_to_cart"], until=T + 4_000)
    after = SessionFeatures.restore(before.snapshot())
    assert after.dwell_seconds("price") == 4.0
    assert after.actions == ["add_to_cart"]
    assert after.item_views == {"a": 1}


def test_restoring_garbage_gives_an_empty_session() -> None:
    for junk in (None, 3, "x", {"dwell_ms": "no", "clicks": -4, "max_scroll": 9, "actions": [1]}):
        restored = SessionFeatures.restore(junk)
        assert restored.dwell_ms == {} and restored.clicks == 0 and restored.actions == []
