"""docs/server.md documents every HTTP route of the app and every ``rapport`` command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from server import cli
from server.app import create_app
from server.config import REPO_ROOT, Settings

DOC = (REPO_ROOT / "docs" / "server.md").read_text(encoding="utf-8")
#: Documented by the engineers who own them.
OTHERS = {"tone", "face"}


def _path_regex(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile(r"\{[A-Za-z_]+\}".join(re.escape(p) for p in parts) + r"(?![\w/])")


def test_every_route_and_method_is_documented(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'd.db'}", sdk_dir=tmp_path))
    missing = []
    for route in app.routes:
        pattern = _path_regex(route.path)
        lines = [line for line in DOC.splitlines() if pattern.search(line)]
        if not lines:
            missing.append(route.path)
            continue
        for method in sorted(set(route.methods) - {"OPTIONS", "HEAD"}):
            if route.path.startswith("/schema/") or route.path == "/schema/{path:str}":
                continue  # the OpenAPI plugin's pages: GET only, listed in one paragraph
            if not any(re.search(rf"\b{method}\b", line) for line in lines):
                missing.append(f"{method} {route.path}")
    assert not missing, f"not in docs/server.md: {missing}"


def _commands(group: click.Group, prefix: str) -> list[str]:
    found = []
    for name, command in group.commands.items():
        if name in OTHERS:
            continue
        full = f"{prefix} {name}"
        found.append(full)
        if isinstance(command, click.Group):
            found += _commands(command, full)
    return found


def test_every_cli_command_is_documented() -> None:
    commands = _commands(cli.main, "rapport")
    assert "rapport site rotate-key" in commands and "rapport db prune" in commands
    missing = [c for c in commands if f"`{c}" not in DOC]
    assert not missing, f"not in docs/server.md: {missing}"
