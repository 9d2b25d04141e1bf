"""The docs test themselves: docs/server.md documents every HTTP route, every ``rapport``
command, every ``Settings`` field and every ``RAPPORT_*`` variable; docs/client.md's weights
table is ``PATTERN_WEIGHTS``; docs/architecture.md's "where to find" table names files and
symbols that exist."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import click

from rapport.client_py.patterns import PATTERN_WEIGHTS
from rapport.server import cli
from rapport.server.app import create_app
from rapport.server.config import REPO_ROOT, SETTINGS_ENV, Settings

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


def test_every_cli_command_has_help() -> None:
    def walk(group: click.Group, prefix: str) -> list[str]:
        found = []
        for name, command in group.commands.items():
            if not (command.help or "").strip():
                found.append(f"{prefix} {name}")
            if isinstance(command, click.Group):
                found += walk(command, f"{prefix} {name}")
        return found

    assert walk(cli.main, "rapport") == []


def _settings_rows() -> dict[str, str]:
    """The rows of the table under ``### Settings`` in docs/server.md, by setting name."""
    section = DOC.split("\n### Settings\n", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        if found := re.match(r"\| `(\w+)` \|", line):
            rows[found.group(1)] = line
    return rows


def test_every_setting_is_documented_with_its_variable() -> None:
    rows = _settings_rows()
    fields = [field.name for field in dataclasses.fields(Settings)]
    assert [name for name in fields if name not in rows] == [], "add a row to ### Settings"
    wrong = [name for name in fields
             if name in SETTINGS_ENV and f"`{SETTINGS_ENV[name]}`" not in rows[name]]  # fmt: skip
    assert wrong == [], "the row does not name the setting's variable"
    assert sorted(set(rows) - set(fields)) == [], "documented settings that do not exist"


def test_every_rapport_variable_the_code_reads_is_documented() -> None:
    code = "\n".join(p.read_text("utf-8") for d in ("server", "client_py")
                     for p in (REPO_ROOT / d).rglob("*.py"))  # fmt: skip
    variables = set(re.findall(r"RAPPORT_[A-Z_]+", code)) | set(SETTINGS_ENV.values())
    assert "RAPPORT_MAX_BODY_BYTES" in variables
    assert sorted(v for v in variables if f"`{v}" not in DOC) == []


def _documented_weights() -> dict[str, list[tuple[str, float, float]]]:
    """docs/client.md's weights table: ``feature (note) +0.40 @ 8 s``; no ``@`` means full 1."""
    text = (REPO_ROOT / "docs" / "client.md").read_text(encoding="utf-8")
    table = text.split("Weights (`PATTERN_WEIGHTS`", 1)[1].split("\n\n", 2)[1]
    term = re.compile(r"(\w+)(?: \([^)]*\))? ([+−-]\d+\.\d+)(?: @ (\d+(?:\.\d+)?))?")
    found = {}
    for line in table.splitlines()[2:]:
        pattern, terms = re.match(r"\| `(\w+)` \| (.*) \|$", line).groups()  # type: ignore[union-attr]
        found[pattern] = [(f, float(w.replace("−", "-")), float(full or 1))
                          for f, w, full in term.findall(terms)]  # fmt: skip
    return found


def test_the_weights_table_in_the_client_docs_is_pattern_weights() -> None:
    assert _documented_weights() == {
        name: [(t.feature, t.weight, t.full) for t in terms]
        for name, terms in PATTERN_WEIGHTS.items()
    }


ARCHITECTURE = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _where_to_find() -> list[tuple[str, str, list[str]]]:
    """(behaviour, path, symbols) for each row of the "Where to find" table."""
    section = ARCHITECTURE.split("\n## Where to find\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[1].startswith("`"):
            rows.append((cells[0], cells[1].strip("`"), re.findall(r"`([\w.]+)`", cells[2])))
    return rows


def _defines(path: Path, symbol: str) -> bool:
    """``symbol`` (``Class`` or ``Class.method``) is defined at the top of ``path``; in a
    JavaScript module, exported at its top (``export const symbol``)."""
    if path.suffix in (".js", ".mjs"):
        declaration = rf"^export (?:const|let|function|class) {re.escape(symbol)}\b"
        return re.search(declaration, path.read_text(encoding="utf-8"), re.MULTILINE) is not None
    body: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for part in symbol.split("."):
        names: dict[str, ast.stmt] = {}
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names[node.name] = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update({t.id: node for t in targets if isinstance(t, ast.Name)})
        if part not in names:
            return False
        body = getattr(names[part], "body", [])
    return True


def test_the_where_to_find_table_names_files_and_symbols_that_exist() -> None:
    rows = _where_to_find()
    assert len(rows) >= 10
    missing = []
    for behaviour, path, symbols in rows:
        file = REPO_ROOT / path
        if not file.is_file():
            missing.append(f"{behaviour}: no file {path}")
            continue
        missing += [f"{behaviour}: {path} has no {s}" for s in symbols if not _defines(file, s)]
    assert missing == []
