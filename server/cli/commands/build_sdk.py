"""``rapport build-sdk``: build the browser SDK bundle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from rapport.server.cli.options import load
from rapport.server.config import default_sdk_dir

__all__ = ["build_bundle", "build_sdk_command"]


def build_bundle(out_dir: Path) -> Path:
    build_sdk: Callable[[Path], Path] = load("rapport.wasm_build.build", "build_sdk")
    try:
        return Path(build_sdk(out_dir))
    except Exception as exc:  # the builder's own errors say what to fix (npm ci, …)
        raise click.ClickException(f"SDK build failed: {exc}") from exc


@click.command("build-sdk")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory [default: wasm_build/dist in the repo].",
)
def build_sdk_command(out_dir: Path | None) -> None:
    """Build the browser SDK bundle (what /sdk/ serves)."""
    built = build_bundle(out_dir or default_sdk_dir())
    click.echo(f"SDK built: {built}")
