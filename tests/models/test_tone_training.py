"""The chat-tone training data and command (issue 16): a written RU/EN set with provenance and a
fixed, grouped split; training is seeded (same data and seed, same bytes) and its output loads."""

from __future__ import annotations

from rapport.client_py import tone_model
from rapport.client_py.schema import TONES
from rapport.models.tone.dataset import MESSAGES, build, load
from rapport.models.tone.train import Config, train


def test_the_committed_set_is_the_one_the_builder_writes() -> None:
    assert load() == build(), f"rebuild {MESSAGES} with `python -m models.tone.dataset`"


def test_the_written_set_has_at_least_1500_messages_in_both_languages() -> None:
    written = [m for m in load() if m.kind != "regression"]
    assert len(written) >= 1500
    assert sum(m.lang == "ru" for m in written) >= 600 <= sum(m.lang == "en" for m in written)
    kinds = {m.kind for m in written}
    assert {"sarcasm", "repeat", "disrespect", "urgent", "no_rush", "gratitude", "quoted"} <= kinds
    assert "translit" in kinds and "mixed" in kinds


def test_variants_of_one_message_never_cross_splits() -> None:
    split_of: dict[str, set[str]] = {}
    for m in load():
        split_of.setdefault(m.group, set()).add(m.split)
    assert all(len(splits) == 1 for splits in split_of.values())
    assert {m.split for m in load() if m.kind == "regression"} == {"train"}


def test_training_is_seeded_and_its_output_loads() -> None:
    messages = [m for i, m in enumerate(load()) if m.split != "test" and i % 12 == 0]
    config = Config(dim=1 << 10, epochs=2)
    first, second = train(messages, config), train(messages, config)
    assert first == second
    model = tone_model.decode(first)
    assert model.dims == TONES and model.dim == 1 << 10 and model.veto == config.veto
