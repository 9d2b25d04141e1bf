"""How fast Pyodide itself starts on a first visit, beside Rapport's start, in one run.

Issue 19 asks for Rapport ready ≤ 0.8 s after navigation on a first visit. Most of that time is
Pyodide's: its wasm compiled and instantiated, Emscripten's runtime started, CPython initialised.
This bench measures that floor on the same machine, in the same kind of browser, side by side:

* ``vanilla``: Pyodide as published on npm (the version the build pins), booted by
  ``loadPyodide({indexURL})`` in a module worker: its full stdlib, its lock file, nothing else;
* ``trimmed``: the Pyodide the build ships (``wasm_build/dist``: the wasm without its uncalled
  exports, the glue's patches, the stdlib cut to what the client imports), booted the same way;
* ``rapport``: Rapport itself, the script tag on a blank page: the loader waits for the page's
  ``load`` and an idle moment, then its worker boots that Pyodide, imports ``client_py`` and
  starts the Agent (``rapport.ready``).

Every page is a first visit: a fresh headless Chromium with a new profile
(:class:`~bench.quiet_browser.QuietChromium`: no DevTools Network domain keeping copies of the
bodies), arms alternating. All files are served brotli-compressed from loopback, as the Rapport
server serves its bundle: the npm files are compressed once into ``.cache/pyodide_floor``.

Printed per arm (medians, and every run): the page's ``load``, when the worker was created and
when Python was up (ms since navigation), and ``boot``: worker created → Python up (for
``rapport``: → ready, which also holds its imports and the Agent's start). Numbers, not
assertions: read the arms against each other, not against another day's run.

    .venv/bin/python -m bench.pyodide_floor [--runs 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import brotli

from bench.quiet_browser import QuietChromium
from rapport.demo_site.stack import CHROMIUM_FLAGS, running_stack
from rapport.server.testing.pages import Reply, serve_origin

ROOT = Path(__file__).resolve().parent.parent
NPM = ROOT / "wasm_build" / "node_modules" / "pyodide"
DIST = ROOT / "wasm_build" / "dist"
CACHE = ROOT / ".cache" / "pyodide_floor"
ARMS = ("vanilla", "trimmed", "rapport")
#: The npm files ``loadPyodide({indexURL})`` fetches with no package asked for.
NPM_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".json": "application/json",
}

#: The page of the two Pyodide-only arms: a module worker created at once, its marks posted back.
FLOOR_PAGE = """<!doctype html><title>floor</title><script type="module">
window.workerAt = performance.now();
const w = new Worker("/floor_worker.mjs" + location.search, { type: "module" });
w.onmessage = (e) => {
  window.pythonAt = performance.now();
  window.floor = e.data;
};
</script>"""

#: Boots Pyodide and nothing else; ``lockInfo`` etc. are filled in for the trimmed arm.
FLOOR_WORKER = """const arm = new URLSearchParams(self.location.search).get("arm");
try {
  const base = arm === "vanilla" ? "/vanilla/" : "/trimmed/__PYODIDE__/";
  const { loadPyodide } = await import(base + "pyodide.mjs");
  const options = arm === "vanilla" ? {} : {
    stdLibURL: "/trimmed/__STDLIB__",
    lockFileContents: { info: __LOCK__, packages: {} },
    packages: [],
  };
  const py = await loadPyodide({ indexURL: base, stdout: () => {}, stderr: () => {}, ...options });
  postMessage({ ok: py.runPython("6 * 7") === 42 });
} catch (error) {
  postMessage({ ok: false, error: String(error).slice(0, 300) });
}
"""

#: The Rapport arm's page: its own script tag, as a site owner adds it.
RAPPORT_PAGE = """<!doctype html><title>floor</title>
<script src="__API__/sdk/rapport.js" data-site="__SITE__" async></script>"""

#: Before the page: when the loader creates its worker, and when ``rapport.ready`` settles.
RAPPORT_INIT = """window.rapport = { q: [], r: (ok) => {
  window.pythonAt = ok ? performance.now() : -1;
  window.floor = { ok };
} };
const Native = window.Worker;
window.Worker = class extends Native {
  constructor(...args) { super(...args); window.workerAt = performance.now(); }
};"""

WAIT = (
    "new Promise(r => { const t = () => window.floor === undefined ? setTimeout(t, 20) "
    ": r({ ...window.floor, worker: window.workerAt, python: window.pythonAt, "
    "load: performance.getEntriesByType('navigation')[0].loadEventEnd }); t(); })"
)


@functools.cache
def npm_file(name: str) -> bytes:
    """One npm file, brotli quality 11, compressed once into :data:`CACHE` (keyed by the source
    file's size and mtime). :func:`main` asks for each before measuring anything."""
    source = NPM / name
    stat = source.stat()
    cached = CACHE / f"{name}.{stat.st_size}.{stat.st_mtime_ns}.br"
    if not cached.exists():
        print(f"compressing {name} ({stat.st_size:,} B) once…", file=sys.stderr, flush=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(brotli.compress(source.read_bytes(), quality=11))
    return cached.read_bytes()


def trimmed_files() -> tuple[dict[str, Path], dict[str, Any]]:
    """The shipped Pyodide's ``.br`` files by their path under ``/trimmed/``, and the build
    manifest they were read from."""
    manifest = json.loads((DIST / "manifest.json").read_text())
    entry = manifest["entry"]
    names = [f"{entry['pyodide_dir']}/{n}" for n in ("pyodide.mjs", "pyodide.asm.mjs",
             "pyodide.asm.wasm")] + [entry["stdlib"]]  # fmt: skip
    return {name: DIST / f"{name}.br" for name in names}, manifest


@contextmanager
def floor_origin(api: str, site_key: str) -> Iterator[str]:
    """The pages, the worker and both Pyodides, brotli-encoded, on one loopback origin."""
    trimmed, manifest = trimmed_files()
    lock = json.dumps(_lock_info())  # what the build writes into worker.mjs, too
    worker = (
        FLOOR_WORKER.replace("__PYODIDE__", manifest["entry"]["pyodide_dir"])
        .replace("__STDLIB__", manifest["entry"]["stdlib"])
        .replace("__LOCK__", lock)
    )
    rapport_page = RAPPORT_PAGE.replace("__API__", api).replace("__SITE__", site_key)

    def respond(path: str) -> Reply | None:
        if path == "/floor.html":
            return Reply(FLOOR_PAGE.encode())
        if path == "/rapport.html":
            return Reply(rapport_page.encode())
        if path == "/floor_worker.mjs":
            return Reply(worker.encode(), "text/javascript")
        name = path.split("/", 2)[-1]
        if path.startswith("/vanilla/") and name in NPM_FILES:
            body = npm_file(name)
        elif path.startswith("/trimmed/") and name in trimmed:
            body = trimmed[name].read_bytes()
        else:
            return None
        kind = TYPES.get(Path(name).suffix, "application/octet-stream")
        return Reply(body, kind, {"Content-Encoding": "br"})

    with serve_origin(respond) as origin:
        yield origin


def _lock_info() -> dict[str, Any]:
    """``info`` of the npm lock file: what the trimmed arm's ``lockFileContents`` carries."""
    return dict(json.loads((NPM / "pyodide-lock.json").read_text())["info"])


def one_page(url: str, init_script: str | None, tmp: Path) -> dict[str, Any]:
    """A first visit in a fresh browser: the marks the page recorded (ms since navigation)."""
    with QuietChromium(CHROMIUM_FLAGS, Path(tempfile.mkdtemp(dir=tmp))) as browser:
        browser.open(url, init_script)
        marks: dict[str, Any] = browser.evaluate(WAIT)
    if not marks.get("ok"):
        raise RuntimeError(f"{url}: Python did not start ({marks.get('error')})")
    marks["boot"] = marks["python"] - marks["worker"]
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="first visits per arm (default 5)")
    parser.add_argument("--json", type=Path, help="write every run's marks here")
    args = parser.parse_args(argv)
    for name in NPM_FILES:
        npm_file(name)
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    with tempfile.TemporaryDirectory() as work:
        tmp = Path(work)
        with running_stack(tmp) as stack, floor_origin(stack.api, stack.site_key) as origin:
            for run in range(args.runs):
                order = ARMS if run % 2 == 0 else ARMS[::-1]
                for arm in order:
                    if arm == "rapport":
                        marks = one_page(f"{origin}/rapport.html", RAPPORT_INIT, tmp)
                    else:
                        marks = one_page(f"{origin}/floor.html?arm={arm}", None, tmp)
                    runs[arm].append(marks)
                    print(
                        f"run {run + 1} {arm:8} load {marks['load']:6.0f}  worker "
                        f"{marks['worker']:6.0f}  python {marks['python']:6.0f}  boot "
                        f"{marks['boot']:6.0f} ms",
                        flush=True,
                    )
    report(runs)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2))
    return 0


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Medians per arm; ``boot`` is worker created → Python up (``rapport``: → ready)."""
    print(f"\n{'arm':10} {'load':>7} {'worker':>7} {'python':>7} {'boot':>7}   (median ms)")
    for arm, marks in runs.items():
        medians = {k: statistics.median(m[k] for m in marks) for k in ("load", "worker",
                   "python", "boot")}  # fmt: skip
        print(
            f"{arm:10} {medians['load']:7.0f} {medians['worker']:7.0f} "
            f"{medians['python']:7.0f} {medians['boot']:7.0f}"
        )


if __name__ == "__main__":
    sys.exit(main())
