"""The learned half of the chat tone (issue 16): it hears what the lexicon's words miss, it ships
beside the module, the combined analyser says which part fired, and no word is kept or sent."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.client_py import schema, tone_model
from rapport.client_py.agent import Agent
from rapport.client_py.schema import TONES, TOPICS
from rapport.client_py.tone import LABELS, ToneSession, analyse, analyse_lexicon

T = 1_700_000_000_000.0
CONFIG = json.dumps({"site": "pk_abcdefgh", "key": "k" * 43, "session": "s" * 22})
#: Every name a batch or the saved state may carry as a value: the schema's closed vocabularies
#: (a text holding "search" is not leaked by the pattern named "researcher").
VOCABULARY = " ".join(
    [
        *(n for v in vars(schema).values() if isinstance(v, tuple) for n in v if type(n) is str),
        *schema.SIGNALS,
    ]
)


def labels(text: str) -> set[str]:
    return set(analyse(text).labels)


def test_the_learned_model_ships_beside_the_module_and_loads() -> None:
    model = tone_model.load()
    assert model is not None, tone_model.MODEL_FILE
    assert model.dims == TONES
    assert set(model.predict("where is my order")) == set(TONES)


def test_a_model_file_with_a_bad_header_is_refused() -> None:
    with pytest.raises(ValueError, match="magic"):
        tone_model.decode(b"NOPE" + bytes(10))


def test_a_model_file_round_trips_through_its_encoding() -> None:
    data = tone_model.encode(
        TONES, 8, bytes([1, 255] * 16), [0.1] * 4, [0.0] * 4, [(1, 0)] * 4, [(1, 0, 0)] * 4, {}
    )
    model = tone_model.decode(data)
    assert model.dim == 8 and list(model.weights[:2]) == [1, -1]


def test_sarcastic_praise_reads_as_irritation_not_praise() -> None:
    for text in (
        "Great, another week without my parcel. Just what I needed.",
        "Ну просто супер, третью неделю жду посылку. Браво.",
    ):
        assert "positive" in analyse_lexicon(text).labels  # what the words alone say
        assert "irritated" in labels(text) and "positive" not in labels(text), text


def test_repeated_contact_and_disrespect_read_as_irritation_without_angry_words() -> None:
    for text in (
        "I have repeated my address to three different people now.",
        "Пишу вам уже третий раз, ответа нет.",
        "Это неуважение к клиентам.",
    ):
        assert "irritated" in labels(text), text


def test_a_deadline_alone_makes_a_message_urgent() -> None:
    for text in (
        "I need the headphones before my flight on Friday morning.",
        "Через час выезжаю, ещё можно забрать?",
    ):
        assert "urgent" in labels(text), text


def test_negated_urgency_stays_calm() -> None:
    for text in ("No rush at all, just wondering when the new colours come out.", "Не к спеху"):
        assert "urgent" not in labels(text), text


def test_transliterated_russian_is_heard() -> None:
    assert "irritated" in labels("uzhe tretiy raz pishu, otveta net")
    assert "urgent" in labels("srochno nuzhno do pyatnitsy")


def test_a_quoted_word_in_a_neutral_question_is_not_irritation() -> None:
    assert labels('The box says "waterproof", can I swim with them?') == {"neutral"}


def test_explain_says_which_part_fired_and_on_which_words() -> None:
    result = analyse("Great, another week without my parcel. Just what I needed.", explain=True)
    assert set(result.parts) == {"lexicon", "learned"}
    assert "learned" in result.fired["irritated"]
    assert any(r.startswith("learned: ") for r in result.reasons["irritation"])
    assert "lexicon: great" in result.reasons["positivity"]
    out = result.as_dict()
    assert out["fired"]["irritated"] and out["parts"]["learned"]["irritation"] >= 0.5


def test_the_worker_path_keeps_no_words_of_the_text() -> None:
    result = analyse("Great, another week without my parcel.")
    assert result.reasons == {}
    assert set(result.scores) == set(TONES)


_text = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.sampled_from(
            ("great", "another", "week", "uzhe", "tretiy", "raz", "неуважение", "Friday", "«", "!!")
        ),
        max_size=12,
    ).map(" ".join),
)


@settings(max_examples=80, deadline=None)
@given(_text)
def test_whatever_the_text_only_closed_vocabularies_and_numbers_come_out(text: str) -> None:
    result = analyse(text)
    assert set(result.scores) == set(TONES)
    assert all(0.0 <= v <= 1.0 for v in result.scores.values())
    assert set(result.labels) <= {*LABELS.values(), "neutral"}
    assert set(result.topics) <= set(TOPICS)
    assert set(result.fired) <= set(LABELS.values())
    assert all(set(p) <= {"lexicon", "learned", "combined"} for p in result.fired.values())
    assert result.reasons == {}
    session = ToneSession()
    session.add(text, 0.0)
    snapshot = json.dumps(session.snapshot())
    vocabulary = " ".join([*TONES, *TOPICS, "scores", "topics", "messages"])
    for i in range(len(text) - 5):
        window = text[i : i + 6]
        if window.strip() and window not in vocabulary:
            assert window not in snapshot


@settings(max_examples=25, deadline=None)
@given(st.lists(_text, min_size=1, max_size=4))
def test_the_agent_keeps_and_sends_no_piece_of_a_chat_message(texts: list[str]) -> None:
    agent = Agent(CONFIG)
    events = [["txt", T + i * 5_000, text] for i, text in enumerate(texts)]
    reply = json.loads(agent.handle(json.dumps({"t": "ev", "e": events}), T + 30_000))
    sent = " ".join(item["body"] for item in reply["send"])
    flushed = json.loads(agent.handle('{"t":"flush"}', T + 31_000))["send"]
    sent += " ".join(item["body"] for item in flushed)
    kept = agent.state_json()
    # The JSON keys of what is sent and kept are structure, not text ("action_values" holds
    # the window "action"); a leaked message would be a value.
    keys = re.findall(r'"([A-Za-z_]+)":', sent + kept)
    allowed = " ".join([CONFIG, VOCABULARY, *keys])
    for text in texts:
        for i in range(len(text) - 5):
            window = text[i : i + 6]
            if window.strip() and window not in allowed:
                assert window not in sent and window not in kept, window
