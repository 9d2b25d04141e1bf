"""Pyodide's WebAssembly without the exports no JavaScript calls, nor the code only they reached.

Pyodide's main module exports every one of its 7,415 functions, so that packages with C
extensions (side modules) can link against them. Rapport loads no side module (the build already
drops the glue's fill of the global offset table for that reason: ``build._GLUE_MAIN_GOT``), so
an export matters only when JavaScript calls it: Pyodide's glue, its ``pyodide.mjs``, and the
worker. Everything else is dropped by binaryen's ``wasm-metadce`` (npm ``binaryen``, pinned in
``wasm_build/package-lock.json``), which also removes the functions that only those exports
reached: SQLite's, zstd's and bzip2's entry points, the C API that only extensions call.
Functions in the indirect function table all stay, whether exported or not: Python reaches its
own C through that table (type slots, method tables, the built-in modules' init functions).

Which exports JavaScript calls is read from the published glue: every name it mentions outside
the two generated lists that name them all (``assignWasmExports`` and the ``var`` statement that
declares them), plus the names ``pyodide.mjs`` and the worker's sources mention. The build fails
when the glue no longer has those two lists where this expects them. The compile step then boots
the result twice and runs the worker's flow on it, and the client's tests run inside Pyodide on
it (``tests/test_client_py_in_pyodide.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from rapport.wasm_build import wasm_sections

__all__ = ["DceError", "called_exports", "drop_uncalled_exports"]

#: The WebAssembly features Pyodide's wasm uses. binaryen's ``--all-features`` would write
#: encodings V8 does not read (compact imports, stringref).
FEATURES: Final = (
    "--enable-bulk-memory",
    "--enable-exception-handling",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-multivalue",
)
#: Called by name, never through the lists: ``callMain`` resolves ``main`` at run time.
ALWAYS_KEPT: Final = frozenset({"main", "__main_argc_argv"})
_ASSIGN_START: Final = "function assignWasmExports(wasmExports){"
#: One statement of ``assignWasmExports``: ``_f=Module["_f"]=wasmExports["f"]``, for a global
#: with ``.value>>>0``, for the memory and the table through a variable of the glue's own.
_ASSIGNMENT: Final = re.compile(
    r'[\w$]+=Module\["[\w$]+"\]=(?:[\w$]+=(?:Module\["[\w$]+"\]=)?)?'
    r'wasmExports\["[\w$]+"\](?:\.value>>>0)?'
)
_DECLARED: Final = re.compile(r"var (_[A-Za-z0-9_$]+(?:,_?[A-Za-z0-9_$]+){100,});")
_NAME: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_FUNCTION: Final = 0
_DATA_SECTION: Final = 11


class DceError(Exception):
    """The glue or the wasm is not shaped the way this module reads it."""


def _without_export_lists(glue: str) -> str:
    """The glue minus ``assignWasmExports`` and the ``var`` statement declaring its names."""
    start = glue.find(_ASSIGN_START)
    if start == -1 or glue.count(_ASSIGN_START) != 1:
        raise DceError(f"pyodide.asm.mjs has no single {_ASSIGN_START!r}: see wasm_build/wasm_dce")
    end = glue.find("}", start)
    body = glue[start + len(_ASSIGN_START) : end].split(";")
    if odd := [s for s in body if s and not _ASSIGNMENT.fullmatch(s)]:
        # Anything but an assignment there could call an export: not safe to skip.
        raise DceError(
            f"assignWasmExports in pyodide.asm.mjs holds {odd[0][:80]!r}, not an export's"
            " assignment: see wasm_build/wasm_dce"
        )
    glue = glue[:start] + glue[end + 1 :]
    declared = _DECLARED.findall(glue)
    if len(declared) != 1:
        raise DceError(
            f"pyodide.asm.mjs declares its exports in {len(declared)} long `var` statements"
            " (1 expected): see wasm_build/wasm_dce"
        )
    return _DECLARED.sub("", glue)


def called_exports(wasm: bytes, glue: str, sources: Iterable[str]) -> set[str]:
    """The function exports some JavaScript names: the published glue outside its two lists,
    ``sources`` (``pyodide.mjs``, the worker's modules), and ``_name`` in the wasm's data (the
    form JavaScript kept there would call it by)."""
    names = set(_NAME.findall(_without_export_lists(glue)))
    for text in sources:
        names |= set(_NAME.findall(text))
    data = wasm_sections.section(wasm, _DATA_SECTION).decode("latin-1")
    in_data = {name for name in _NAME.findall(data) if name.startswith("_")}
    return {
        name
        for name, kind in wasm_sections.export_kinds(wasm)
        if kind == _FUNCTION
        and (name in names or f"_{name}" in names or f"_{name}" in in_data or name in ALWAYS_KEPT)
    }


def drop_uncalled_exports(
    wasm_path: Path, out_path: Path, keep: set[str], metadce: Path
) -> list[str]:
    """Write ``wasm_path`` without the function exports outside ``keep`` and return those
    dropped. Exports of other kinds (memory, table, globals, tags) all stay."""
    wasm = wasm_path.read_bytes()
    kinds = wasm_sections.export_kinds(wasm)
    missing = sorted(keep - {name for name, _ in kinds})
    if missing:
        raise DceError(f"pyodide.asm.wasm does not export {missing[:5]} that JavaScript calls")
    graph = [
        {"name": f"export:{name}", "export": name, "root": True}
        if kind != _FUNCTION or name in keep
        else {"name": f"export:{name}", "export": name}
        for name, kind in kinds
    ]
    with tempfile.TemporaryDirectory(prefix="rapport-dce-") as tmp:
        graph_file = Path(tmp) / "graph.json"
        graph_file.write_text(json.dumps(graph))
        command = ["node", str(metadce), *FEATURES, "--graph-file", str(graph_file)]
        try:
            subprocess.run(
                [*command, str(wasm_path), "-o", str(out_path)],
                check=True,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.CalledProcessError as exc:
            raise DceError(f"wasm-metadce failed:\n{exc.stderr[-4000:]}") from exc
    kept = wasm_sections.exports(out_path.read_bytes())
    return sorted(name for name, kind in kinds if kind == _FUNCTION and name not in kept)
