"""``server/`` has no import cycle, counting imports inside functions too.

A lazy import hides a cycle from Python but not from a reader: the two modules still cannot
be understood (or moved) one without the other. Walked with ``ast``, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

from rapport.server import config as _anchor

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "server"
#: The package's import name (``server``, or ``rapport.server`` in the installed layout).
PACKAGE = _anchor.__name__.rpartition(".")[0]


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(FOLDER).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(FOLDER.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``server`` modules that ``name`` imports anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import mod`` imports the submodule; ``from mod import obj`` the module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]  # fmt: skip
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_server_modules_import_each_other_without_a_cycle() -> None:
    modules = _modules()
    known = set(modules)
    assert f"{PACKAGE}.app" in known
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    assert f"{PACKAGE}.services" in graph[f"{PACKAGE}.app"]  # the walk sees imports
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


#: Folders whose code ships or runs on its own: none may lean on the test suite.
NOT_TESTS = ("bench", "server", "demo_site", "client_py", "models", "wasm_build")


def _imports_of_tests(path: Path) -> list[str]:
    """The ``tests`` modules that ``path`` imports anywhere in its body (absolute imports)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and not node.level
            else []
        )
        found += [n for n in names if n == "tests" or n.startswith("tests.")]
    return found


def test_nothing_outside_tests_imports_the_test_suite() -> None:
    """Shared helpers live in the package (``rapport.server.testing``), so ``bench/`` and the
    demo can use them without the suite on the path, and a test can change freely."""
    leaks = {
        str(path.relative_to(ROOT)): found
        for folder in NOT_TESTS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "node_modules" not in path.parts and (found := _imports_of_tests(path))
    }
    assert leaks == {}


def test_the_tests_import_finder_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "bench_like.py"
    module.write_text("import json\n\ndef run():\n    from tests.e2e import helpers\n")
    assert _imports_of_tests(module) == ["tests.e2e"]
