"""The Python half of run_pytest.mjs: it runs INSIDE Pyodide (sys.platform == "emscripten").

run_pytest.mjs loads Pyodide, unpacks the pinned wheels into site-packages, copies the repo's
``client_py/`` and ``tests/client_py/`` (and ``tests/__init__.py`` if present, so the test
package has the same import name as in CPython) into the in-memory file system under ROOT,
then executes this file and calls :func:`banner` and :func:`run`.

Nothing else of ``tests/`` is copied: ``tests/conftest.py`` (server, Playwright, …) is CPython
only and never loaded here. The repo's ``[tool.pytest…]`` config from pyproject.toml is
mirrored into ROOT/pyproject.toml (markers, addopts, filterwarnings), minus the options of
plugins that are not installed in Pyodide (pytest-timeout), so tests see the same strictness.

Not a test module, and not imported by CPython: the name does not match ``test_*.py``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tomllib
from typing import Any

# Options of plugins that are not installed in Pyodide. pytest-timeout relies on signals or
# threads, neither of which Pyodide has; the Node script has its own wall-clock limit instead.
_DROPPED_OPTIONS = frozenset(
    {"timeout", "timeout_method", "timeout_func_only", "timeout_disable_debugger_detection"}
)
_DEFAULT_TARGET = "tests/client_py"
# Worst outcome wins when one test has several reports (setup, call, teardown).
_RANK = {"passed": 0, "skipped": 1, "xfailed": 2, "xpassed": 3, "failed": 4, "error": 5}


def banner() -> str:
    import pyodide  # only exists inside Pyodide

    impl = sys.implementation
    return (
        f"pyodide-runner: Pyodide {pyodide.__version__}, Python {sys.version.split()[0]} "
        f"({impl.name}, {getattr(impl, '_multiarch', '?')}), sys.platform={sys.platform}"
    )


def _toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML.
    return json.dumps(value)


def _mirror_pytest_config(root: str, pyproject_text: str | None) -> list[str]:
    """Write ROOT/pyproject.toml with the repo's pytest config; return the dropped keys."""
    if not pyproject_text:
        return []
    tool_pytest = tomllib.loads(pyproject_text).get("tool", {}).get("pytest")
    if not isinstance(tool_pytest, dict):
        return []
    dropped: list[str] = []
    lines: list[str] = []

    def table(name: str, values: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, dict):
                continue  # sub-tables are written separately
            if key in _DROPPED_OPTIONS:
                dropped.append(key)
                continue
            if key == "testpaths":
                value = [_DEFAULT_TARGET]
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
        lines.append("")

    table("tool.pytest", tool_pytest)
    for sub, values in tool_pytest.items():
        if isinstance(values, dict):
            table(f"tool.pytest.{json.dumps(sub)}", values)
    with open(os.path.join(root, "pyproject.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return dropped


class _Outcomes:
    """pytest plugin: what was collected and how each test ended (worst of its reports)."""

    def __init__(self) -> None:
        self.collected: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.collection_errors: list[str] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collection_errors.append(report.nodeid)

    def pytest_collection_finish(self, session: Any) -> None:
        self.collected = [item.nodeid for item in session.items]

    def pytest_runtest_logreport(self, report: Any) -> None:
        xfail = hasattr(report, "wasxfail")
        if report.failed:
            outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "xfailed" if xfail else "skipped"
        elif report.when == "call":
            outcome = "xpassed" if xfail else "passed"
        else:
            outcome = "passed"  # a setup or teardown that went fine
        previous = self.outcomes.get(report.nodeid)
        if previous is None or _RANK[outcome] > _RANK[previous]:
            self.outcomes[report.nodeid] = outcome


def _has_target(args: list[str]) -> bool:
    """True if the extra args name a test path (then the default target is not added)."""
    return any(not arg.startswith("-") and os.path.exists(arg.split("::", 1)[0]) for arg in args)


def run(config_json: str) -> str:
    """Run pytest on ROOT/tests/client_py; return a JSON summary (exit code and outcomes)."""
    config = json.loads(config_json)
    root: str = config["root"]
    extra: list[str] = list(config["extra_args"])

    sys.dont_write_bytecode = True  # also covers pytest's assertion-rewrite cache
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    importlib.invalidate_caches()  # wheels were unpacked after start-up
    if root not in sys.path:
        sys.path.insert(0, root)  # like the editable install: `import client_py` works
    os.chdir(root)
    sys.argv = ["pytest"]

    dropped = _mirror_pytest_config(root, config.get("pyproject_text"))
    if dropped:
        print(f"pyodide-runner: pytest options not applied in Pyodide: {', '.join(dropped)}")

    import pytest

    args = ["-p", "no:cacheprovider", "--rootdir", root, *extra]
    if not _has_target(extra):
        args.append(_DEFAULT_TARGET)
    print(f"pyodide-runner: pytest {pytest.__version__}: pytest {' '.join(args)}", flush=True)

    outcomes = _Outcomes()
    try:
        code = int(pytest.main(args, plugins=[outcomes]))
    except SystemExit as exc:  # pytest.main returns; this is only a safety net
        code = exc.code if isinstance(exc.code, int) else 3
    sys.stdout.flush()
    sys.stderr.flush()

    counts: dict[str, int] = {}
    for outcome in outcomes.outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return json.dumps(
        {
            "exit_code": code,
            "platform": sys.platform,
            "python": sys.version.split()[0],
            "pytest": pytest.__version__,
            "collected": outcomes.collected,
            "outcomes": outcomes.outcomes,
            "counts": counts,
            "collection_errors": outcomes.collection_errors,
        }
    )
