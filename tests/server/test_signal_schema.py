"""The server's msgspec validation is built from ``client_py.schema`` and agrees with it.

For every signal kind and every field, a set of edge values (bounds, just past them,
booleans, fractions for integers, strings with a trailing newline, ``null``, wrong types)
is checked both ways: the server accepts a signal exactly when the shared schema does.
Hypothesis adds random values on top.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.client_py import schema as shared
from rapport.server.ingest.extract import extract_observations, to_stored_signals
from rapport.server.ingest.schema import BATCH_DECODER, SIGNAL_STRUCTS, kind_of
from rapport.server.report.cells import cell_names

SITE = "pk_test-site-key"
ENVELOPE = {"site": SITE, "key": "k" * 43, "session": "session-0001", "batch": "b-000001"}


def client_accepts(signal: dict[str, Any]) -> bool:
    """The shared schema's verdict (the same rule as the client's privacy filter)."""
    spec = shared.SIGNALS.get(signal.get("kind"))  # type: ignore[arg-type]
    if spec is None or any(k != "kind" and k not in spec.fields for k in signal):
        return False
    return all(rule.accepts(signal.get(name)) for name, rule in spec.fields.items())


def server_accepts(signal: dict[str, Any]) -> bool:
    try:
        BATCH_DECODER.decode(msgspec.json.encode({**ENVELOPE, "signals": [signal]}))
    except msgspec.ValidationError:
        return False
    return True


def valid_value(rule: shared.Field) -> Any:
    if isinstance(rule, shared.Number):
        middle = (rule.minimum + rule.maximum) / 2
        return math.floor(middle) if rule.integer else middle
    if isinstance(rule, shared.Enum):
        return rule.values[0]
    return {
        shared.ITEM_PATTERN: "sku-123",
        shared.ACTION_NAME_PATTERN: "add_to_cart",
        shared.CURRENCY_PATTERN: "EUR",
    }.get(rule.pattern, "x")


def valid_signal(kind: str) -> dict[str, Any]:
    return {"kind": kind} | {
        name: valid_value(rule) for name, rule in shared.SIGNALS[kind].fields.items()
    }


def edge_values(rule: shared.Field) -> list[Any]:
    common: list[Any] = [None, True, False, [], {}, "", " "]
    if isinstance(rule, shared.Number):
        lo, hi = rule.minimum, rule.maximum
        return [
            *common, lo, hi, lo - 1, hi + 1, lo - 0.001, hi + 0.001, int(lo), int(hi),
            float(lo), float(hi), (lo + hi) / 2, 0, -0.0, 0.5, 1e308, -1e308, str(lo),
        ]  # fmt: skip
    if isinstance(rule, shared.Enum):
        first = rule.values[0]
        return [*common, *rule.values, first.upper(), first + "\n", " " + first, first + "x", 1]
    base = valid_value(rule)
    return [
        *common, base, base + "\n", "\n" + base, base + " ", base * 40, "a", "A1", "é",
        "x" * 64, "x" * 65, "ABC", "EURO", "add to cart", 7,
    ]  # fmt: skip


CASES = [
    (kind, name, value)
    for kind, spec in shared.SIGNALS.items()
    for name, rule in spec.fields.items()
    for value in edge_values(rule)
]


def test_every_signal_kind_has_a_server_struct() -> None:
    assert list(SIGNAL_STRUCTS) == list(shared.signal_kinds())


@pytest.mark.parametrize("kind", list(shared.SIGNALS))
def test_a_valid_signal_of_each_kind_is_accepted_by_both(kind: str) -> None:
    signal = valid_signal(kind)
    assert client_accepts(signal) and server_accepts(signal)


@pytest.mark.parametrize(
    ("kind", "name", "value"), CASES, ids=[f"{k}.{n}={v!r}" for k, n, v in CASES]
)
def test_server_and_shared_schema_agree_on_edge_values(kind: str, name: str, value: Any) -> None:
    signal = valid_signal(kind) | {name: value}
    assert server_accepts(signal) == client_accepts(signal)


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, name) for kind, spec in shared.SIGNALS.items() for name in spec.fields],
)
def test_server_and_shared_schema_agree_on_a_missing_field(kind: str, name: str) -> None:
    signal = valid_signal(kind)
    del signal[name]
    assert server_accepts(signal) == client_accepts(signal)


@pytest.mark.parametrize("kind", list(shared.SIGNALS))
def test_an_extra_field_is_refused_by_both(kind: str) -> None:
    signal = valid_signal(kind) | {"note": "hello"}
    assert not server_accepts(signal) and not client_accepts(signal)


json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
    st.sampled_from(["sku-1", "add_to_cart", "EUR", "hesitant", "returns", "a\n"]),
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(list(shared.SIGNALS)),
    data=st.data(),
)
def test_server_and_shared_schema_agree_on_random_values(kind: str, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(list(shared.SIGNALS[kind].fields)))
    value = data.draw(json_values)
    signal = valid_signal(kind) | {name: value}
    assert server_accepts(signal) == client_accepts(signal)


def test_the_clients_privacy_filter_agrees_with_the_server() -> None:
    privacy = pytest.importorskip("rapport.client_py.privacy")
    for kind, name, value in CASES:
        signal = valid_signal(kind) | {name: value}
        assert privacy.allowed_signal(signal) == server_accepts(signal), (kind, name, value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("site", "pk_short"),
        ("site", "sk_abcdefghij"),
        ("site", "pk_abcdefgh\n"),
        ("key", "k" * 42),
        ("key", "k" * 44),
        ("session", "has space1"),
        ("batch", "batch-id\n"),
    ],
)
def test_envelope_ids_follow_the_shared_patterns(field: str, value: str) -> None:
    body = {**ENVELOPE, field: value, "signals": []}
    with pytest.raises(msgspec.ValidationError):
        BATCH_DECODER.decode(msgspec.json.encode(body))


def test_decoded_signals_keep_their_kind_when_stored() -> None:
    body = {
        **ENVELOPE,
        "signals": [{"kind": "action", "name": "add_to_cart"}, {"kind": "scroll", "depth": 0.5}],
    }
    decoded = BATCH_DECODER.decode(msgspec.json.encode(body))
    assert [kind_of(s) for s in decoded.signals] == ["action", "scroll"]
    stored = to_stored_signals(decoded.signals)
    assert stored.count == 2
    assert msgspec.json.decode(stored.json) == body["signals"]
    assert [(s.kind, msgspec.json.decode(s.body)) for s in stored.rows()] == [
        ("action", {"kind": "action", "name": "add_to_cart"}),
        ("scroll", {"kind": "scroll", "depth": 0.5}),
    ]


def test_observations_take_the_last_pattern_score_and_every_action() -> None:
    body = {
        **ENVELOPE,
        "signals": [
            {"kind": "pattern", "name": "hesitant", "score": 0.2},
            {"kind": "action", "name": "view_item"},
            {"kind": "pattern", "name": "hesitant", "score": 0.7},
            {"kind": "action", "name": "add_to_cart"},
        ],
    }
    observations = extract_observations(BATCH_DECODER.decode(msgspec.json.encode(body)).signals)
    assert dict(observations.patterns) == {"hesitant": 0.7}
    assert observations.actions == {"view_item", "add_to_cart"}


def test_observations_name_each_section_dwelled_on_or_with_a_section_event_once() -> None:
    """The report's reach needs where, never what: (section, "dwell" or the event's name),
    as the bits of the report's ``section:…`` cells."""
    body = {
        **ENVELOPE,
        "signals": [
            {"kind": "dwell", "section": "price", "seconds": 4.0},
            {"kind": "dwell", "section": "price", "seconds": 9.5},
            {"kind": "section_event", "name": "copy", "section": "returns", "count": 1},
            {"kind": "section_event", "name": "hover_without_click", "section": "price",
             "count": 2},
            {"kind": "scroll", "depth": 0.5},
        ],
    }  # fmt: skip
    observations = extract_observations(BATCH_DECODER.decode(msgspec.json.encode(body)).signals)
    assert cell_names(observations.section_bits) == {
        "section:price:dwell", "section:returns:copy", "section:price:hover_without_click",
    }  # fmt: skip
    assert not observations  # nothing the profile keeps: the writer leaves it unchanged
