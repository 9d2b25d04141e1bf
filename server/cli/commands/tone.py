"""``rapport tone TEXT``: the chat tone analysis the browser runs on the device, in a terminal.

It calls the same pure-Python analyser as the worker (``client_py.tone``: the lexicon and the
learned model combined), so a site owner can see what a message would become — labels, scores and
topics — and that nothing else is derived. It also says which part fired (``fired``: lexicon,
learned, or only the two combined), each part's own scores, and the words each part fired on
(``reasons``); the worker never computes those.

``rapport model train-tone`` retrains the learned part (``models/tone/train.py``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator

import click

from rapport.client_py.tone import analyse

__all__ = ["tone_command", "train_tone_command"]


@click.command("tone")
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as one JSON object.")
def tone_command(text: tuple[str, ...], as_json: bool) -> None:
    """Analyse the tone of TEXT (or of stdin when TEXT is "-" or missing), Russian or English."""
    message = " ".join(text)
    if not text or message == "-":
        message = sys.stdin.read()
    result = analyse(message, explain=True).as_dict()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    fired = result.get("fired", {})
    click.echo(
        "labels: "
        + ", ".join(
            f"{label} ({'+'.join(fired[label])})" if label in fired else label
            for label in result["labels"]
        )
    )
    parts = result.get("parts", {})
    for name, score in result["scores"].items():
        own = "  ".join(f"{part} {scores[name]:.2f}" for part, scores in parts.items())
        click.echo(f"  {name:<11} {score:.2f}  {own}".rstrip())
        for reason in result.get("reasons", {}).get(name, ()):
            click.echo(f"      {reason}")
    click.echo("topics: " + (", ".join(result["topics"]) or "-"))


@click.command("train-tone")
@click.option(
    "--seed", default=16, show_default=True, help="Shuffling seed (same seed, same bytes)."
)
@click.option("--epochs", default=8, show_default=True)
@click.option("--rebuild-data", is_flag=True, help="Rebuild messages.tsv from the written sources.")
def train_tone_command(seed: int, epochs: int, rebuild_data: bool) -> None:
    """Train the learned chat-tone model on models/tone/data; writes client_py/tone_model.bin and
    models/tone/MODEL_CARD.md (run `make sdk` afterwards to ship it)."""
    from rapport.models.tone.dataset import build, save
    from rapport.models.tone.train import Config, main

    if rebuild_data:
        save(build())

    def progress(epochs_range: Iterable[int]) -> Iterator[int]:
        with click.progressbar(epochs_range, label="training (epochs)") as bar:
            yield from bar

    main(Config(seed=seed, epochs=epochs), progress=progress, echo=click.echo)
