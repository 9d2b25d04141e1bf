"""``rapport tone TEXT``: the chat tone analysis the browser runs on the device, in a terminal.

It calls the same pure-Python analyser as the worker (``client_py.tone``), so a site owner can
see what a message would become — labels, scores and topics — and that nothing else is derived.
"""

from __future__ import annotations

import json
import sys

import click

from client_py.tone import analyse

__all__ = ["tone_command"]


@click.command("tone")
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as one JSON object.")
def tone_command(text: tuple[str, ...], as_json: bool) -> None:
    """Analyse the tone of TEXT (or of stdin when TEXT is "-" or missing), Russian or English."""
    message = " ".join(text)
    if not text or message == "-":
        message = sys.stdin.read()
    result = analyse(message).as_dict()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo("labels: " + ", ".join(result["labels"]))
    for name, score in result["scores"].items():
        click.echo(f"  {name:<11} {score:.2f}")
    click.echo("topics: " + (", ".join(result["topics"]) or "-"))
