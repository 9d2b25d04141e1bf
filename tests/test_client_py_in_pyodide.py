"""The client_py unit tests must also pass inside real Pyodide (CPython 3.14 on WebAssembly).

client_py/ runs in the visitor's browser under Pyodide; tests/client_py/ runs it under CPython.
This test runs the SAME tests/client_py with pytest inside Pyodide under Node
(tests/pyodide/run_pytest.mjs) and checks that every test CPython collects passed there, so a
test that is skipped, xfailed or missing only in Pyodide shows up as a failure here.

It runs on the WebAssembly the bundle ships: Pyodide's npm package with the built
``pyodide.asm.wasm`` in place of its own, which keeps only the exports JavaScript calls
(wasm_build/wasm_dce.py). So the whole client, pytest and the stdlib modules they import run on
the cut module, through the full Pyodide JavaScript (the package loader included).

Needs the pinned wheels of tests/pyodide/requirements.txt in .cache/pyodide-wheels (install
step, see INSTALL_STEP), the npm package pyodide in wasm_build/node_modules and the built bundle
(``rapport build-sdk``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUNNER = REPO / "tests" / "pyodide" / "run_pytest.mjs"
WHEELS = REPO / ".cache" / "pyodide-wheels"
PYODIDE_DIR = REPO / "wasm_build" / "node_modules" / "pyodide"
DIST = REPO / "wasm_build" / "dist"
CLIENT_TESTS = "tests/client_py"
RUN_TIMEOUT_S = 600
COLLECT_TIMEOUT_S = 120
MAX_SHOWN_CHARS = 100_000
INSTALL_STEP = (
    ".venv/bin/pip download --only-binary=:all: --no-deps --python-version 3.14 "
    "--implementation py --abi none --platform any "
    "-r tests/pyodide/requirements.txt -d .cache/pyodide-wheels"
)

pytestmark = pytest.mark.pyodide


def _shown(output: str) -> str:
    if len(output) <= MAX_SHOWN_CHARS:
        return output
    return f"[… first {len(output) - MAX_SHOWN_CHARS} chars cut …]\n{output[-MAX_SHOWN_CHARS:]}"


def _check(condition: bool, message: str) -> None:
    """Fail with just the message (the runner's output), not this file's source."""
    if not condition:
        pytest.fail(message, pytrace=False)


def _check_prerequisites() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: Node 20 is needed to run Pyodide", pytrace=False)
    if not (PYODIDE_DIR / "pyodide.mjs").is_file():
        pytest.fail(
            f"no Pyodide at {PYODIDE_DIR}: run `npm ci` in wasm_build/ (the install step)",
            pytrace=False,
        )
    if not WHEELS.is_dir() or not any(WHEELS.glob("*.whl")):
        pytest.fail(
            f"no wheels for Pyodide in {WHEELS}: run the install step from the repo root:\n"
            f"  {INSTALL_STEP}",
            pytrace=False,
        )
    if not (DIST / "manifest.json").is_file():
        pytest.fail(f"no bundle in {DIST}: run `rapport build-sdk`", pytrace=False)
    if not (REPO / CLIENT_TESTS).is_dir():
        pytest.fail(f"no {CLIENT_TESTS}/ in {REPO}: nothing to run in Pyodide", pytrace=False)
    return node


def _pyodide_with_the_shipped_wasm(tmp_path: Path) -> Path:
    """The npm package, its ``pyodide.asm.wasm`` replaced by the one the bundle ships."""
    manifest = json.loads((DIST / "manifest.json").read_text(encoding="utf-8"))
    shipped = DIST / manifest["entry"]["pyodide_dir"] / "pyodide.asm.wasm"
    dest = tmp_path / "pyodide"
    shutil.copytree(PYODIDE_DIR, dest)
    shutil.copyfile(shipped, dest / "pyodide.asm.wasm")
    return dest


def _collect_in_cpython() -> list[str]:
    """Node ids of tests/client_py as CPython's pytest collects them."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            CLIENT_TESTS,
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=COLLECT_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"collecting {CLIENT_TESTS} in CPython failed (exit {proc.returncode}):\n"
            f"{_shown(proc.stdout + proc.stderr)}",
            pytrace=False,
        )
    prefix = f"{CLIENT_TESTS}/"
    return [line for line in proc.stdout.splitlines() if line.startswith(prefix) and "::" in line]


@pytest.mark.timeout(RUN_TIMEOUT_S + COLLECT_TIMEOUT_S + 60)
def test_client_py_unit_tests_pass_inside_real_pyodide(tmp_path: Path) -> None:
    node = _check_prerequisites()
    report_path = tmp_path / "pyodide-report.json"
    cmd = [
        node,
        str(RUNNER),
        "--repo",
        str(REPO),
        "--wheels",
        str(WHEELS),
        "--pyodide",
        str(_pyodide_with_the_shipped_wasm(tmp_path)),
        "--json-report",
        str(report_path),
    ]
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        partial = exc.output or b""
        if isinstance(partial, bytes):
            partial = partial.decode(errors="replace")
        pytest.fail(
            f"Pyodide run did not finish in {RUN_TIMEOUT_S} s; output so far:\n{_shown(partial)}",
            pytrace=False,
        )
    output = proc.stdout
    where = f"\n--- output of {' '.join(cmd)} ---\n{_shown(output)}"

    _check(proc.returncode == 0, f"pytest inside Pyodide exited {proc.returncode}{where}")
    _check("sys.platform=emscripten" in output, f"no proof of a run under Emscripten{where}")
    _check(report_path.is_file(), f"the runner wrote no report{where}")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    _check(report["platform"] == "emscripten", f"ran on {report['platform']!r}{where}")

    outcomes: dict[str, str] = report["outcomes"]
    passed = {nodeid for nodeid, outcome in outcomes.items() if outcome == "passed"}
    _check(len(passed) > 0, f"no test passed inside Pyodide{where}")

    collected = _collect_in_cpython()
    not_passed = "\n".join(
        f"  {n}: {outcomes.get(n, 'not run in Pyodide')}" for n in collected if n not in passed
    )
    only_in_pyodide = "\n".join(f"  {n}" for n in sorted(passed - set(collected)))
    _check(
        not not_passed and not only_in_pyodide and len(passed) == len(collected),
        f"{len(passed)} tests passed inside Pyodide, but {len(collected)} were collected in "
        "CPython; each must pass in both.\n"
        f"Not passed in Pyodide:\n{not_passed or '  -'}\n"
        f"Passed in Pyodide only:\n{only_in_pyodide or '  -'}{where}",
    )
