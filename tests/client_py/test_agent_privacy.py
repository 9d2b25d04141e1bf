"""The whole agent, fuzzed: arbitrary events and chat texts in, only schema signals out.

Whatever the page sends to the worker, the JSON bodies the agent asks to send contain only the
envelope and signals the shared schema describes, and no piece of the visitor's text.
"""

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.client_py.agent import Agent
from rapport.client_py.privacy import allowed_envelope, allowed_signal
from rapport.client_py.schema import ACTION_NAME_PATTERN, SECTIONS, SIGNALS

T = 1_700_000_000_000.0
CONFIG = json.dumps({"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22})
#: A window of the text this long must never appear in a request.
WINDOW = 6

_WORDS = (
    *("где", "мой", "заказ", "warranty", "refund", "asap", "!!!", "??", "Olga", "Petrova"),
    *("😡", "please", "срочно", "1234 5678 9012", "ann@example.com", "+7 912 000-00-00"),
)
_words = st.sampled_from(_WORDS)
_text = st.one_of(
    st.text(max_size=80),
    st.lists(_words, min_size=1, max_size=10).map(" ".join),
)
_time = st.floats(min_value=T, max_value=T + 600_000, allow_nan=False)
_any = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_event = st.one_of(
    st.tuples(st.sampled_from(["pv", "end", "act", "chg", "fi", "sb"]), _time).map(list),
    st.tuples(
        st.sampled_from(["in", "out", "hov", "cp"]),
        _time,
        st.sampled_from([*SECTIONS, None, "secret"]),
        st.sampled_from(["sku-1", "sku-2", None, "my name is Ann"]),
    ).map(list),
    st.tuples(st.just("clk"), _time, st.integers(0, 50), st.integers(0, 50)).map(list),
    st.tuples(st.just("scr"), _time, st.floats(0, 1)).map(list),
    st.tuples(st.just("txt"), _time, _text).map(list),
    st.tuples(
        st.just("ctx"),
        _time,
        st.integers(-600, 600),
        st.integers(0, 3000),
        st.booleans(),
        _text,
        _text,
    ).map(list),
    st.tuples(st.just("trk"), _time, _text, _any, _any).map(list),
    st.lists(_any, max_size=5),
)

# Words that may legitimately be in a body: the schema's vocabulary, ids, site-declared keys.
_ALLOWED = " ".join(
    [
        CONFIG,
        "sku-1 sku-2",
        "site key session batch signals",
        json.dumps({k: repr(v) for k, v in SIGNALS.items()}),
    ]
)


def _texts(events: list[list[object]]) -> list[str]:
    out = []
    for event in events:
        if isinstance(event, list) and event[:1] in (["txt"], ["ctx"], ["trk"]):
            out.extend(str(x) for x in event[2:] if isinstance(x, str))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_event, max_size=12), min_size=1, max_size=4))
def test_only_schema_signals_and_no_text_ever_leave(batches: list[list[list[object]]]) -> None:
    agent = Agent(CONFIG)
    bodies: list[str] = []
    now = T
    for events in batches:
        now += 3_000
        for message in ({"t": "ev", "e": events}, {"t": "tick"}):
            reply = json.loads(agent.handle(json.dumps(message), now))
            bodies.extend(item["body"] for item in reply["send"])
    bodies.extend(item["body"] for item in json.loads(agent.handle('{"t":"flush"}', now))["send"])
    texts = _texts([e for batch in batches for e in batch])
    # A valid action name is the site's own identifier (rapport.track), sent as such.
    names = " ".join(
        str(e[2])
        for batch in batches
        for e in batch
        if e[:1] == ["trk"] and re.fullmatch(ACTION_NAME_PATTERN, str(e[2]))
    )
    for raw in bodies:
        body = json.loads(raw)
        assert set(body) == {"site", "key", "session", "batch", "signals"}
        assert allowed_envelope(body["site"], body["key"], body["session"], body["batch"])
        assert all(allowed_signal(s) for s in body["signals"])
        for text in texts:
            for i in range(len(text) - WINDOW + 1):
                window = text[i : i + WINDOW]
                if window not in _ALLOWED and window not in names:
                    assert window not in raw, (window, raw)
