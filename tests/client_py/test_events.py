"""Raw page events are parsed defensively: the page is not ours to trust."""

from rapport.client_py.events import (
    Action,
    Click,
    PageView,
    Scroll,
    SectionIn,
    Visibility,
    parse_event,
    parse_events,
)


def test_a_section_entering_the_viewport_is_parsed_with_its_item() -> None:
    assert parse_event(["in", 1000, "price", "sku-1"]) == SectionIn(1000.0, "price", "sku-1")


def test_an_undeclared_section_name_is_dropped() -> None:
    assert parse_event(["in", 1000, "my-secret-notes", "sku-1"]) is None


def test_an_item_key_that_looks_like_free_text_is_dropped_to_none() -> None:
    assert parse_event(["in", 1000, "price", "hello world, my email is a@b.c"]) == SectionIn(
        1000.0, "price", None
    )


def test_malformed_events_are_dropped() -> None:
    for raw in (None, [], ["in"], ["in", "yesterday", "price"], ["scr", 1, 7], ["zzz", 1], "pv"):
        assert parse_event(raw) is None


def test_booleans_are_not_timestamps() -> None:
    assert parse_event(["pv", True]) is None


def test_click_keeps_position_and_section() -> None:
    assert parse_event(["clk", 5, 10, 20, "returns", None]) == Click(
        5.0, 10.0, 20.0, "returns", None
    )


def test_track_keeps_only_a_valid_currency() -> None:
    assert parse_event(["trk", 5, "add_to_cart", 129, "EUR"]) == Action(
        5.0, "add_to_cart", 129.0, "EUR"
    )
    assert parse_event(["trk", 5, "add_to_cart", 129, "euros"]) == Action(
        5.0, "add_to_cart", 129.0, None
    )


def test_track_with_a_free_text_name_is_dropped() -> None:
    assert parse_event(["trk", 5, "Bought: John Smith, 12 Main St", None, None]) is None


def test_a_batch_is_returned_in_time_order_without_the_bad_events() -> None:
    events = parse_events([["scr", 30, 0.5], ["bogus"], ["pv", 10], ["vis", 20, 0]])
    assert events == [PageView(10.0), Visibility(20.0, False), Scroll(30.0, 0.5)]


def test_a_batch_that_is_not_a_list_gives_no_events() -> None:
    assert parse_events({"e": 1}) == []
