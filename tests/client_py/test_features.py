"""Session features: attended dwell, scroll, clicks, revisits, and the price/returns loop."""

from rapport.client_py.events import parse_events
from rapport.client_py.features import (
    ATTENTION_MS,
    FeatureRules,
    SessionFeatures,
    classify_device,
    classify_source,
    local_time_parts,
)

T = 1_700_000_000_000.0


def run(*raw: list[object], until: float | None = None) -> SessionFeatures:
    features = SessionFeatures()
    for event in parse_events(list(raw)):
        features.apply(event)
    if until is not None:
        features.advance(until)
    return features


def test_dwell_counts_time_a_section_is_in_view() -> None:
    f = run(["pv", T], ["in", T, "price", "sku-1"], ["act", T], ["act", T + 5_000], until=T + 8_000)
    assert f.dwell_seconds("price") == 8.0


def test_a_page_that_merely_rendered_is_not_read() -> None:
    f = run(["pv", T], ["in", T, "price", "sku-1"], ["vis", T + 10, 1], until=T + 60_000)
    assert f.dwell_seconds("price") == 0.0


def test_dwell_stops_when_the_section_leaves_the_view() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["act", T],
        ["out", T + 3_000, "price", "sku-1"],
        until=T + 9_000,
    )
    assert f.dwell_seconds("price") == 3.0


def test_dwell_does_not_count_while_the_tab_is_hidden() -> None:
    f = run(
        ["pv", T],
        ["in", T, "price", "sku-1"],
        ["act", T],
        ["vis", T + 2_000, 0],
        ["vis", T + 60_000, 1],
        ["act", T + 60_000],
        until=T + 61_000,
    )
    assert f.dwell_seconds("price") == 3.0


def test_dwell_stops_soon_after_the_last_activity() -> None:
    f = run(["pv", T], ["in", T, "price", "sku-1"], ["act", T], until=T + 100_000)
    assert f.dwell_seconds("price") == ATTENTION_MS / 1000


def test_activity_resumes_dwell_after_idling() -> None:
    f = run(
        ["pv", T], ["in", T, "price", None], ["act", T], ["act", T + 100_000], until=T + 105_000
    )
    assert f.dwell_seconds("price") == ATTENTION_MS / 1000 + 5


def attended(section: str, start: float, ms: float = 2_000) -> list[list[object]]:
    """A section in view that the visitor is active on for ``ms``, then out of view."""
    return [["in", start, section, "a"], ["act", start], ["out", start + ms, section, "a"]]


def test_going_between_an_attended_price_and_returns_counts_loops() -> None:
    f = run(
        ["pv", T],
        *attended("price", T),
        *attended("returns", T + 3_000),
        *attended("price", T + 6_000),
        *attended("warranty", T + 9_000),
    )
    assert f.back_and_forth == 3


def test_a_price_and_a_returns_policy_merely_scrolled_past_are_no_loop() -> None:
    """Only in view, never attended (issue 14's follow-up: a long product page scrolled
    through counted a loop at every pass)."""
    f = run(
        ["pv", T],
        ["in", T, "price", "a"], ["out", T + 300, "price", "a"],
        ["in", T + 400, "returns", "a"], ["out", T + 700, "returns", "a"],
        ["in", T + 800, "price", "a"], ["out", T + 1_100, "price", "a"],
        ["in", T + 1_200, "returns", "a"], ["out", T + 1_500, "returns", "a"],
        until=T + 60_000,
    )  # fmt: skip
    assert f.back_and_forth == 0


def test_a_glance_shorter_than_the_attention_rule_is_no_loop() -> None:
    f = run(["pv", T], *attended("price", T), *attended("returns", T + 3_000, ms=1_000))
    assert f.back_and_forth == 0
    longer = run(["pv", T], *attended("price", T), *attended("returns", T + 3_000, ms=1_500))
    assert longer.back_and_forth == 1


def test_dwelling_on_sections_in_view_together_counts_one_turn_however_often_they_step() -> None:
    """Price and returns in one view share the attended time; visibility steps of a section
    already in view do not restart it."""
    f = run(
        ["pv", T],
        ["in", T, "price", "a"],
        ["act", T],
        ["in", T + 10, "returns", "a"],
        ["act", T + 2_000],
        ["in", T + 3_000, "price", "a"],
        ["in", T + 3_500, "returns", "a"],
        until=T + 8_000,
    )
    assert f.back_and_forth == 1


def test_a_pointer_resting_on_or_a_click_in_the_returns_policy_attends_it() -> None:
    rested = run(
        ["pv", T], *attended("price", T),
        ["hov", T + 3_000, "returns", None], ["hov", T + 3_700, None],
    )  # fmt: skip
    clicked = run(["pv", T], *attended("price", T), ["clk", T + 3_000, 5, 5, "returns", None])
    brief = run(
        ["pv", T], *attended("price", T),
        ["hov", T + 3_000, "returns", None], ["hov", T + 3_300, None],
    )  # fmt: skip
    assert (rested.back_and_forth, clicked.back_and_forth, brief.back_and_forth) == (1, 1, 0)


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
    before = run(
        ["pv", T],
        ["in", T, "price", "a"],
        ["act", T],
        ["trk", T + 1, "add_to_cart"],
        until=T + 4_000,
    )
    after = SessionFeatures.restore(before.snapshot())
    assert after.dwell_seconds("price") == 4.0
    assert after.actions == ["add_to_cart"]
    assert after.item_views == {"a": 1}


def test_restoring_garbage_gives_an_empty_session() -> None:
    for junk in (None, 3, "x", {"dwell_ms": "no", "clicks": -4, "max_scroll": 9, "actions": [1]}):
        restored = SessionFeatures.restore(junk)
        assert restored.dwell_ms == {} and restored.clicks == 0 and restored.actions == []


# -- behaviour counters and context -------------------------------------------------------------
def test_rage_clicks_follow_posthogs_rule() -> None:
    f = run(["pv", T], ["clk", T + 100, 10, 10], ["clk", T + 900, 20, 25], ["clk", T + 1_800, 5, 0])
    assert f.counter("rage_clicks") == 1
    spread = run(["pv", T], ["clk", T, 0, 0], ["clk", T + 100, 100, 0], ["clk", T + 200, 0, 0])
    slow = run(["pv", T], ["clk", T, 0, 0], ["clk", T + 1_500, 0, 0], ["clk", T + 3_000, 0, 0])
    assert spread.counter("rage_clicks") == 0 and slow.counter("rage_clicks") == 0


def test_a_long_burst_is_one_rage_click_and_the_rule_is_configurable() -> None:
    burst = [["clk", T + i * 100, 0, 0] for i in range(10)]
    assert run(["pv", T], *burst).counter("rage_clicks") == 1
    f = SessionFeatures(rules=FeatureRules.with_overrides({"rage_clicks": 5}))
    for event in parse_events([["pv", T], *burst[:4]]):
        f.apply(event)
    assert f.counter("rage_clicks") == 0


def test_a_click_with_no_change_after_it_is_dead() -> None:
    dead = run(["pv", T], ["clk", T + 1_000, 5, 5], until=T + 5_000)
    assert dead.counter("dead_clicks") == 1
    for change in (["chg", T + 1_500], ["scr", T + 1_500, 0.3], ["fi", T + 1_200]):
        alive = run(["pv", T], ["clk", T + 1_000, 5, 5], change, until=T + 5_000)
        assert alive.counter("dead_clicks") == 0
    too_soon = run(["pv", T], ["clk", T + 1_000, 5, 5], until=T + 2_000)
    assert too_soon.counter("dead_clicks") == 0


def test_quick_back_is_leaving_a_page_soon_through_the_back_button() -> None:
    f = run(["pv", T], ["pv", T + 20_000], ["pv", T + 23_000, "back_forward"])
    assert f.counter("quick_backs") == 1
    slow = run(["pv", T], ["pv", T + 20_000], ["pv", T + 60_000, "back_forward"])
    assert slow.counter("quick_backs") == 0


def test_excessive_scrolling_needs_travel_and_reversals() -> None:
    ups_and_downs = [["scr", T + 300 * i, 0.9 if i % 2 else 0.1] for i in range(1, 10)]
    assert run(["pv", T], *ups_and_downs).counter("excessive_scrolls") == 1
    assert (
        run(["pv", T], ["scr", T + 300, 0.5], ["scr", T + 600, 1.0]).counter("excessive_scrolls")
        == 0
    )


def test_scroll_speed_is_page_lengths_per_second() -> None:
    f = run(["pv", T], ["scr", T + 1_000, 0.1], ["scr", T + 1_500, 0.6])
    assert abs(f.max_scroll_speed - 1.0) < 1e-9


def test_idle_periods_and_tab_switches_are_counted() -> None:
    f = run(["pv", T], ["act", T + 40_000], ["vis", T + 41_000, 0], ["vis", T + 42_000, 1])
    assert f.counter("idle_periods") == 1
    assert f.counter("tab_switches") == 1


def test_a_form_focused_but_not_submitted_is_abandoned_on_the_next_page() -> None:
    f = run(["pv", T], ["fi", T + 1_000], ["fi", T + 2_000], ["pv", T + 9_000])
    assert f.counter("forms_abandoned") == 1
    sent = run(["pv", T], ["fi", T + 1_000], ["sb", T + 2_000], ["pv", T + 9_000])
    assert sent.counter("forms_abandoned") == 0


def test_hovering_a_section_without_clicking_it() -> None:
    f = run(["pv", T], ["hov", T, "price", "a"], ["hov", T + 2_000, None])
    assert f.hovers == {"price": 1}
    clicked = run(
        ["pv", T],
        ["hov", T, "price", "a"],
        ["clk", T + 500, 1, 1, "price", "a"],
        ["hov", T + 2_000, None],
    )
    brief = run(["pv", T], ["hov", T, "price", "a"], ["hov", T + 300, "specs", "a"])
    assert clicked.hovers == {} and brief.hovers == {}


def test_copies_are_counted_by_section_only() -> None:
    f = run(
        ["pv", T], ["cp", T + 1, "price", "a"], ["cp", T + 2, "specs", "a"], ["cp", T + 3, None]
    )
    assert f.copies == {"price": 1, "specs": 1}


def test_comparisons_count_switches_between_items_the_visitor_attended_to() -> None:
    def attended(start: int, seconds: int) -> list[list[object]]:
        return [["act", T + start + i * 1_000] for i in range(seconds)]

    f = run(
        ["pv", T],
        ["in", T, "price", "a"],
        *attended(0, 4),
        ["pv", T + 5_000],
        ["in", T + 5_000, "specs", "b"],
        ["in", T + 5_000, "price", "b"],
        *attended(5_000, 7),
        ["pv", T + 12_000],
        ["in", T + 12_000, "price", "a"],
        *attended(12_000, 4),
        until=T + 16_000,
    )
    assert f.counter("comparisons") == 2
    assert f.price_items == ["a", "b"]
    assert f.counter("items_viewed") == 2


def test_context_is_coarse_and_the_entry_decides_the_source() -> None:
    monday_9_utc = 1_700_470_800_000.0  # Mon 2023-11-20 09:00 UTC
    f = run(["pv", monday_9_utc], ["ctx", monday_9_utc, -180, 390, 1, "cpc", ""])
    assert f.context == {
        "daypart": "afternoon",
        "week": "weekday",
        "device": "mobile",
        "source": "ad",
    }
    later = run(
        ["ctx", monday_9_utc, 0, 1440, 0, "", "www.google.com"],
        ["ctx", monday_9_utc + 1, 0, 1440, 0, "email", ""],
    )
    assert later.context["source"] == "search" and later.context["device"] == "desktop"


def test_source_classes() -> None:
    assert classify_source("", "") == "direct"
    assert classify_source("newsletter", "") == "email"
    assert classify_source("", "mail.google.com") == "email"
    assert classify_source("", "yandex.ru") == "search"
    assert classify_source("", "blog.example.org") == "referral"
    assert classify_source("PPC", "") == "ad"
    assert classify_device(800, True) == "tablet" and classify_device(1920, False) == "desktop"


def test_weekend_and_night_on_the_visitors_clock() -> None:
    sunday_1_utc = 1_700_355_600_000.0  # Sun 2023-11-19 01:00 UTC
    assert local_time_parts(sunday_1_utc, 0) == ("night", "weekend")
    assert local_time_parts(sunday_1_utc, 300) == ("evening", "weekend")  # UTC-5: Sat 20:00
    assert local_time_parts(sunday_1_utc + 86_400_000, 0) == ("night", "weekday")


def test_new_features_survive_a_navigation() -> None:
    before = run(
        ["pv", T],
        ["ctx", T, 0, 1280, 0, "", ""],
        ["cp", T + 1, "price", "a"],
        ["clk", T + 2, 0, 0],
        ["clk", T + 3, 0, 0],
        ["clk", T + 4, 0, 0],
        ["fi", T + 5],
        until=T + 10_000,
    )
    after = SessionFeatures.restore(before.snapshot())
    assert after.counters == before.counters and after.copies == {"price": 1}
    assert after.context == before.context
    after.apply(parse_events([["pv", T + 11_000]])[0])
    assert after.counter("forms_abandoned") == 1
