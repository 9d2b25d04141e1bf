"""The privacy filter lets out only what the shared schema describes exactly."""

import math

from hypothesis import given
from hypothesis import strategies as st

from rapport.client_py.privacy import allowed_envelope, allowed_signal, filter_signals
from rapport.client_py.schema import SIGNALS


def test_a_dwell_signal_in_schema_form_is_allowed() -> None:
    assert allowed_signal({"kind": "dwell", "section": "price", "item": "sku-1", "seconds": 9.5})


def test_an_optional_field_may_be_left_out() -> None:
    assert allowed_signal({"kind": "dwell", "section": "price", "seconds": 9.5})


def test_an_extra_field_drops_the_whole_signal() -> None:
    assert not allowed_signal(
        {"kind": "dwell", "section": "price", "seconds": 9.5, "note": "typed by the visitor"}
    )


def test_an_unknown_kind_is_dropped() -> None:
    assert not allowed_signal({"kind": "keystrokes", "keys": "hunter2"})


def test_free_text_in_a_key_field_is_dropped() -> None:
    assert not allowed_signal({"kind": "revisit", "item": "my name is Ann", "count": 2})


def test_out_of_range_and_non_finite_numbers_are_dropped() -> None:
    for seconds in (-1, 1e12, math.nan, math.inf, True, "9"):
        assert not allowed_signal({"kind": "dwell", "section": "price", "seconds": seconds})


def test_a_fraction_is_not_a_count() -> None:
    assert not allowed_signal({"kind": "clicks", "count": 2.5})


def test_filter_keeps_the_good_and_counts_the_dropped() -> None:
    kept, dropped = filter_signals([{"kind": "scroll", "depth": 0.5}, {"kind": "x"}, "text"])
    assert kept == [{"kind": "scroll", "depth": 0.5}]
    assert dropped == 2


def test_the_envelope_carries_only_ids_the_visitor_key_and_the_site_key() -> None:
    assert allowed_envelope("pk_abcdefgh", "k" * 43, "s" * 22, "b" * 22)
    assert not allowed_envelope("pk_abcdefgh", "ann@example.com", "s" * 22, "b" * 22)
    assert not allowed_envelope("pk_abcdefgh", "v" * 22, "s" * 22, "b" * 22)  # an id, no key


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
_signalish = st.fixed_dictionaries(
    {"kind": st.sampled_from([*SIGNALS, "text", "frame"])},
    optional={
        name: _json
        for name in {"section", "item", "seconds", "depth", "count", "name", "score", "value"}
        | {"currency", "text", "pixels"}
    },
)


def _is_exactly_schema_shaped(signal: dict[str, object]) -> bool:
    spec = SIGNALS[str(signal["kind"])]
    return set(signal) - {"kind"} <= set(spec.fields) and all(
        rule.accepts(signal.get(name)) for name, rule in spec.fields.items()
    )


@given(st.lists(_signalish | _json, max_size=20))
def test_nothing_outside_the_schema_gets_out(signals: list[object]) -> None:
    kept, dropped = filter_signals(signals)
    assert len(kept) + dropped == len(signals)
    for signal in kept:
        assert isinstance(signal, dict)
        assert signal["kind"] in SIGNALS
        assert _is_exactly_schema_shaped(signal)
        for value in signal.values():
            assert value is None or isinstance(value, int | float | str)
            if isinstance(value, str):
                assert " " not in value and len(value) <= 64


AFFECT = {"kind": "affect", "seconds": 5.0, "frames": 25, "presence": 1.0, "attention": 0.9,
          "dominant": "angry", "valence": -0.4, "arousal": 0.5, "micro": 0}  # fmt: skip


def test_an_affect_window_may_name_a_declared_section_or_none() -> None:
    assert allowed_signal({**AFFECT, "section": "price"})
    assert allowed_signal(AFFECT)


def test_an_affect_window_never_carries_a_url_text_or_coordinates_as_its_section() -> None:
    for section in ("https://shop.example/p?q=ann", "Ann's order 1234", "price ", 412, [10, 20]):
        assert not allowed_signal({**AFFECT, "section": section})
    for extra in ({"item": "sku-1"}, {"x": 10, "y": 20}, {"url": "/p"}, {"crop": [0, 1]}):
        assert not allowed_signal({**AFFECT, "section": "price", **extra})
