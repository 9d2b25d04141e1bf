"""Build the browser bundle that ``/sdk/`` serves: ``rapport build-sdk``.

Everything comes from the repo and from npm packages pinned in ``wasm_build/package-lock.json``
(Pyodide core, onnxruntime-web, terser, binaryen); nothing is fetched from a CDN at run time. Steps:

1. a pure-Python wheel of ``client_py`` (reproducible: fixed timestamps, sorted members);
2. inside Pyodide under Node: .pyc-compile that wheel and the stdlib, trim the stdlib to what the
   worker's flow imports, then boot again from the result and re-run the flow to prove it works;
3. content-hashed names for everything but the stable entry point ``rapport.js``; the four
   modules the loader names (worker, camera prompt, debug, rights) share one hash, of all four
   (:func:`_loader_modules`);
4. the loader and the worker minified with terser; ``.br`` and ``.gz`` siblings for every file
   (the two wasm files also try brotli settings of their own, :data:`BROTLI_TRIES`);
   Pyodide's two JS modules minified too, and its wasm cut to the exports JavaScript calls
   (``wasm_build/wasm_dce.py``), before step 2, so its boots run the shipped files;
5. ``manifest.json``: names, sizes (raw, brotli, gzip), sha256, versions, and each file's role
   and brotli budget (``wasm_build/budget.py``): the build fails when a file, or the cold
   download of a first visit, outgrows its budget.

The loader is written as ES modules, one concern each (``src/loader/*.js``: capture, boot,
hints, rights, camera…), that the build joins into one classic script before terser
(``wasm_build/loader_join.py``; the build fails when a module would not ship).

What both languages know has one source, Python (``wasm_build/cross_language.py``): the face
constants of ``models/infer.py`` are written into the bundled face module, and the build fails
when ``face.mjs`` or the loader's event codes drift from Python (``client_py.events.EVENT_CODES``).

The camera add-on is separate and is downloaded only where it is used: ``camera.<hash>.mjs``
(consent prompt and frame capture, imported by the loader only on sites with
``data-camera="ask"``), then, only after the visitor's consent, ``face.<hash>.mjs`` (the worker's
face pipeline), onnxruntime-web's WASM build and the two models of ``models/onnx``. The manifest
lists them under ``camera`` with their bytes.

The chat-tone weights (``tone_model.<hash>.bin``) leave the wheel after the compile step has
traced and proved the flow with them: the worker fetches them on the page's first chat message,
so a site without chat never downloads them.

Two more add-ons are imported by the loader only when used, so they never weigh on an ordinary
page: ``rights.<hash>.mjs`` (the visitor's export/erase, on the first such call) and
``debug.<hash>.mjs`` (the owner's debug panel: ``data-debug`` or ``?rapport-debug=1``). The
manifest lists them under ``addons``.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import brotli

from rapport.wasm_build import budget, cross_language, trace_flow, wasm_dce, wasm_sections
from rapport.wasm_build.loader_join import LoaderJoinError, join_loader, loader_modules
from rapport.wasm_build.pyodide_compile import COMPILED_AHEAD_PATCHES

__all__ = ["LOADER_BUDGET_BYTES_BR", "BuildError", "build_sdk", "client_wheel", "minify_loader"]

ROOT: Final = Path(__file__).resolve().parent
REPO: Final = ROOT.parent
PYODIDE_DIR: Final = ROOT / "node_modules" / "pyodide"
#: binaryen's dead-code eliminator across JS and wasm (npm ``binaryen``, build time only).
METADCE: Final = ROOT / "node_modules" / "binaryen" / "bin" / "wasm-metadce"
PYODIDE_CORE: Final = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm")
#: Pyodide's JS as published is Emscripten's readable glue (1.25 MB, 207 KB brotli): terser
#: takes 56 KB brotli off it. Safe to mangle: the wasm's imports and exports are looked up by
#: property name, and the glue's direct evals are made indirect first (``_GLUE_DIRECT_EVAL``).
#: The compile step boots from the minified copy, so a break fails the build.
PYODIDE_MINIFIED: Final = ("pyodide.mjs", "pyodide.asm.mjs")
#: The first line of each minified file: Chrome's explicit compile hint (V8, Chrome 136+) to
#: compile all of the file's functions as it is streamed, on a background thread, instead of
#: each one on the worker's thread when Python's start first calls it. Other browsers read a
#: comment. Playwright's browser, first visits alternating with the build without it (fresh
#: context each, medians of 10 and 12): ready 843 → 822.5 and 857 → 829.5 ms (2026-12-05,
#: bench/README.md). Not the worker's or the loader's files: they are small, and at budget.
EAGER_COMPILE_HINT: Final = "//# allFunctionsCalledOnLoad\n"
#: The glue evaluates strings with a *direct* ``eval`` in six places, all for side modules (a
#: package's .so): their EM_ASM and EM_JS code, and ``emscripten_run_script*`` /
#: ``emscripten_async_load_script``, which Pyodide's own wasm never imports. A direct eval can
#: see every name around it, so terser renames none of the glue's top level. Made indirect,
#: ``(0,eval)(…)``, they run in global scope and the glue minifies 27 KB brotli further: safe
#: because Rapport loads no package (the worker's lock file lists none), so no side module ever
#: runs. The build fails when Pyodide's glue holds another count of them or its wasm imports one
#: of those functions (a Pyodide bump: look again).
_GLUE_DIRECT_EVAL: Final = re.compile(r"(?<![\w$.])eval\(")
_GLUE_DIRECT_EVALS: Final = 6
_GLUE_EVAL_IMPORTS: Final = (b"run_script", b"load_script")
#: Restoring a memory snapshot (the worker's warm start) copies all of it into the new wasm
#: memory, so every page of it becomes resident, also the ≈ 20 MB that are zeros in the snapshot
#: and that a fresh start never touches: +25 MB of the visitor's memory on every warm page
#: (bench/README.md). The glue's copy is replaced by one that skips a 64 KB page that is zero in
#: the snapshot and already zero in the new memory (and zeroes one that is not): the same bytes.
_GLUE_SNAPSHOT_COPY: Final = "return Module.HEAP8.set(t),l}"
_GLUE_SPARSE_COPY: Final = (
    "return(s=>{const h=Module.HEAP8;if(s.byteOffset&3||s.length&65535)return h.set(s);"
    "const a=new Int32Array(s.buffer,s.byteOffset,s.length>>2),b=new Int32Array(h.buffer,0,"
    "a.length);for(let o=0;o<a.length;o+=16384){let z=1;for(let i=o;i<o+16384;i++)if(a[i])"
    "{z=0;break}if(!z){h.set(s.subarray(4*o,4*o+65536),4*o);continue}for(let i=o;i<o+16384;"
    "i++)if(b[i]){h.fill(0,4*o,4*o+65536);break}}})(t),l}"
)
#: Taking a snapshot (a first page's, before ``ready``) copied all of the wasm memory, 30 MB,
#: into a new buffer: 25–37 ms under Node. Nothing lies above the heap's break (``sbrk(0)``,
#: 19.4 MB after the agent's import): Emscripten puts the stack and the static data below the
#: heap, and its ``mmap`` takes memory from ``malloc``. The copy stops at the break (13–18 ms);
#: the buffer's tail stays as allocated, zeros that are never written, so the snapshot holds the
#: same bytes (a Node test compares it with the memory). bench/README.md has the browser's gain.
_GLUE_SNAPSHOT_TAKE: Final = "o.subarray(n).set(Module.HEAP8),o}"
_GLUE_SNAPSHOT_UP_TO_BREAK: Final = "o.subarray(n).set(Module.HEAP8.subarray(0,Module._sbrk(0))),o}"
#: On instantiation the glue puts every function the main wasm exports (7,415) into the global
#: offset table that side modules (a package's .so) link against: each one a table slot grown
#: one at a time and a JS wrapper, ≈ 45 ms of every boot, cold or warm (bench/README.md). Safe
#: to drop for the same reason as the evals: Rapport loads no side module, and the main module's
#: own GOT imports (280) are JS functions, none of them a wasm export (the build checks), so
#: they are resolved as before, by ``reportUndefinedSymbols``. A side module would still link:
#: its GOT imports resolve on demand from the same symbols.
_GLUE_MAIN_GOT: Final = "assignWasmExports(wasmExports);updateGOT(origExports);"
_GLUE_NO_MAIN_GOT: Final = "assignWasmExports(wasmExports);"
#: As Python starts, Pyodide's ``finalizeBootstrap`` gets ``importlib`` and the ``__main__`` and
#: ``builtins`` dicts by running Python source through ``eval_code`` (four sources, each parsed,
#: its AST rewritten and copied, then compiled): ≈ 10 ms of every boot under Node
#: (bench/README.md, 2026-12-05). The same objects come from ``import_module``, which
#: ``_pyodide._base`` imports; ``runPythonInternal``, the only user of the dict the first source
#: makes, is called nowhere else (the build checks), and gets an empty dict as before.
_GLUE_BOOT_EVALS: Final = (
    'API.runPythonInternal_dict=API._pyodide._base.eval_code("{}"),'
    'API.importlib=API.runPythonInternal("import importlib; importlib");'
    'let o=API.importlib.import_module;API.sys=o("sys"),API.os=o("os");'
    'let i=API.runPythonInternal("import __main__; __main__.__dict__"),'
    's=API.runPythonInternal("import builtins; builtins.__dict__");'
)
_GLUE_BOOT_IMPORTS: Final = (
    'API.importlib=API._pyodide._base.import_module("importlib");'
    'let o=API.importlib.import_module,rapportBuiltins=o("builtins");'
    "API.runPythonInternal_dict=rapportBuiltins.dict();"
    'API.sys=o("sys"),API.os=o("os");'
    # Attribute proxies are borrowed from the module proxies, which are kept.
    'let i=o("__main__").__dict__,s=rapportBuiltins.__dict__;'
)
#: Every boot, cold or restored, Emscripten's ``reportUndefinedSymbols`` puts the JS functions
#: whose address the wasm takes (259 GOT imports) into the table, and ``addFunction`` wraps each
#: in a tiny WebAssembly module of its own, compiled and instantiated one at a time. The build
#: defers them and wraps them all with one module (``glue_add_functions.js``), same slots, same
#: order (bench/README.md, 2026-12-05). Each anchor must occur once in the published glue.
_GLUE_ADD_FUNCTIONS: Final = (
    ("var reportUndefinedSymbols=()=>{for(", "var reportUndefinedSymbols=()=>{var pending=[];for("),
    ("entry.value=addFunction(value,value.sig)", "pending.push([entry,value])"),
    ("(${value})`)}}}};", "(${value})`)}}}addFunctionsAtOnce(pending)};"),
)
GLUE_ADD_FUNCTIONS_JS: Final = ROOT / "glue_add_functions.js"
#: Stdlib modules Pyodide imports as Python starts but uses only later (an error formatted, a
#: source tokenized) ship as ``deferred_stub.py``, which runs the real module, shipped as
#: ``_<name>_impl`` (member → that member), on first use. The real modules are in
#: ``trace_flow.EXTRA_MODULES``, so the trimmed stdlib keeps them and what they import; the flow
#: formats a traceback (``trace_flow.run``) through the stand-in.
_DEFERRED: Final = {
    f"{name}.py": f"_{name}_impl.py" for name in ("traceback", "tokenize", "textwrap")
}
#: Modules of Pyodide's stdlib that the build replaces with Rapport's stand-ins (zip member →
#: the stand-in, shipped as source and compiled with the rest): Pyodide's package loader
#: (Rapport installs no package, and the real loader's imports cost bytes, memory and start-up),
#: asyncio and Pyodide's event loop (Rapport's worker awaits nothing in Python; asyncio and its
#: 52 modules cost ≈ 50–120 ms of each first boot under Node), and the deferred modules above.
#: Each module says why. The build checks that the glue reads nothing of the loader, and
#: ``pyodide/__init__.py`` nothing of the event loop, that the stand-in lacks; its two Node boots
#: prove Pyodide still starts and runs the flow.
_PACKAGE_LOADER: Final = "pyodide/_package_loader.py"
_WEBLOOP: Final = "pyodide/webloop.py"
_STUBS: Final = {
    _PACKAGE_LOADER: ROOT / "package_loader_stub.py",
    _WEBLOOP: ROOT / "webloop_stub.py",
    "asyncio/__init__.py": ROOT / "asyncio_stub.py",
    **dict.fromkeys(_DEFERRED, ROOT / "deferred_stub.py"),
}
#: Python's cyclic garbage collector, off from the first line of Pyodide's own Python
#: (``_pyodide``, which ``_pyodide_core`` imports as it starts) to the last of its start (the
#: ``pyodide`` package, imported once the core is up). A first boot ran it 8 times, 7–14 ms in
#: all in the browser (a ``gc.callbacks`` probe, 2026-12-05), and those collections found 123
#: objects. At the end what the start made is frozen (``gc.freeze``): no later collection walks
#: those objects again, in this page or in one restored from its snapshot, which holds the
#: collector's state (on and frozen) as it holds the rest of the heap.
_BOOT_GC_PATCHES: Final = {
    "_pyodide/__init__.py": (
        (
            "from . import _base, _importhook\n",
            "import gc as _gc\n\n"
            "_gc.disable()  # until pyodide/__init__.py's end (Rapport's build)\n"
            "del _gc\n"
            "from . import _base, _importhook  # noqa: E402\n",
        ),
    ),
    "pyodide/__init__.py": (
        (
            "del _initialize_event_loop\n",
            "del _initialize_event_loop\n\n"
            "import gc as _gc  # noqa: E402\n\n"
            "_gc.freeze()  # Pyodide has started: what it made is not walked again\n"
            "_gc.enable()  # off since _pyodide/__init__.py (Rapport's build)\n"
            "del _gc\n",
        ),
    ),
}


def _merged_patches(
    *tables: Mapping[str, tuple[tuple[str, str], ...]],
) -> dict[str, tuple[tuple[str, str], ...]]:
    """One table of edits from several: a member two tables edit gets both's edits, in order
    (a dict merge would keep only the last table's)."""
    merged: dict[str, tuple[tuple[str, str], ...]] = {}
    for table in tables:
        for member, edits in table.items():
            merged[member] = (*merged.get(member, ()), *edits)
    return merged


#: Edits of Pyodide's own Python (member → (anchor, replacement)s); each anchor must occur once.
#: ``eval_code`` runs four sources as Pyodide starts, and for each one it
#:
#: - dedents it: ``textwrap.dedent`` leaves a source none of whose lines starts with whitespace
#:   as it is, so such a source is not passed to it;
#: - tokenizes it (``should_quiet``) to see whether it ends with a ``;``: without a ``#`` there
#:   is no comment token, so a source whose last non-blank character is not ``;`` cannot end
#:   with one.
#:
#: The same answers, and ``textwrap`` and ``tokenize`` (deferred, above) do not run as Python
#: starts. And :data:`~wasm_build.pyodide_compile.COMPILED_AHEAD_PATCHES`: what Python starts by
#: compiling or computing (a ``namedtuple``'s ``__new__``, the signatures the C core asks for,
#: regular expressions) is taken from the tables the compile step makes.
#:
#: And :data:`_BOOT_GC_PATCHES`: Python's cyclic collector stays off while Pyodide starts.
_PYODIDE_PATCHES: Final = _merged_patches(
    COMPILED_AHEAD_PATCHES,
    _BOOT_GC_PATCHES,
    {
        "_pyodide/_base.py": (
            (
                "        source = _dedent(source)\n",
                '        if any(line[:1].isspace() for line in source.split("\\n")):\n'
                "            source = _dedent(source)"
                "  # else it is left as it is (Rapport's build)\n",
            ),
            (
                "    source_io = StringIO(source)\n",
                '    if "#" not in source and not source.rstrip().endswith(";"):\n'
                "        return False  # no token can be the last ';' (Rapport's build)\n"
                "    source_io = StringIO(source)\n",
            ),
        ),
    },
)
_GLUE_LOADER_USE: Final = re.compile(r"package_loader\.([A-Za-z_]\w*)")
_PYODIDE_INIT: Final = "pyodide/__init__.py"
_WEBLOOP_USE: Final = re.compile(r"from \.webloop import ([\w, ]+)")
#: Where the worker writes the client wheel before Python starts; on ``PYTHONPATH``, so Python
#: imports ``client_py`` from the wheel itself (a zip: zipimport): no unpacking, on any page.
#: Not ``*.zip``: the worker finds the stdlib's copy in ``/lib`` by that suffix.
CLIENT_ZIP: Final = "/lib/rapport_client.whl"
#: Brotli settings that files over :data:`BROTLI_TRY_BYTES` (the two wasm files) also try,
#: keeping the smallest encoding: quality 11's block splitting is a heuristic, and on Pyodide
#: 314.0.7's wasm a 2 MB window (``lgwin`` 21, default 22) with 64 KB blocks (``lgblock`` 16,
#: default 18) is 28.7 KB smaller (2,741,061 → 2,712,369 B; 2026-12-03, bench/README.md).
#: Any brotli decoder reads every setting. Only the big files: each try of a 10 MB file costs
#: ≈ 25 s of CPU, once per content (``.br`` siblings of hashed names are kept).
BROTLI_TRIES: Final[tuple[dict[str, int], ...]] = ({"lgwin": 21, "lgblock": 16},)
BROTLI_TRY_BYTES: Final = 4 * 1024 * 1024
ORT_DIR: Final = ROOT / "node_modules" / "onnxruntime-web"
#: onnxruntime-web's WASM backend, its Emscripten glue and its one .wasm (SIMD; the "threaded"
#: build runs single-threaded when numThreads = 1, as it must without COOP/COEP). Not the
#: ``bundle`` variant: its embedded glue is used only when served from the page's own origin.
ORT_FILES: Final = (
    "dist/ort.wasm.min.mjs",
    "dist/ort-wasm-simd-threaded.mjs",
    "dist/ort-wasm-simd-threaded.wasm",
)
MODELS_DIR: Final = REPO / "models" / "onnx"
CAMERA_KEYS: Final = ("prompt", "face", "ort", "ort_glue", "ort_wasm", "detector", "expression")
#: The loader's own on-demand modules (not the camera's): see the module docstring.
ADDONS: Final = ("debug", "rights")
MODEL_FILES: Final = ("blazeface_short_range.onnx", "face_expression.onnx")
#: The loader's placeholders for the hashed names of the files it loads, and their roles.
LOADER_PLACEHOLDERS: Final = {
    "__WORKER__": "worker",
    "__CAMERA__": "prompt",
    "__DEBUG__": "debug",
    "__RIGHTS__": "rights",
}
#: The files the loader names, role → name stem (``src/<stem>.mjs``): they share one hash.
LOADER_MODULES: Final = {
    "worker": "worker",
    "prompt": "camera",
    "debug": "debug",
    "rights": "rights",
}
#: The loader runs on the host's main thread; Plausible's whole tracker is 2.5 KB gz.
LOADER_BUDGET_BYTES_BR: Final = budget.FILE_BUDGETS_BR["loader"]
CLIENT_VERSION: Final = "0.1.0"
#: Non-Python files of client_py that the compile step's wheel carries (read at run time).
CLIENT_DATA: Final = ("*.bin",)
#: The chat-tone weights (≈ 44 KB brotli): traced and proved inside the compile step's wheel,
#: then shipped beside it, fetched by the worker on the page's first chat message only.
TONE_MEMBER: Final = "client_py/tone_model.bin"
_EPOCH: Final = (2020, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    """The bundle could not be built; the message says which step and why."""


@dataclass(frozen=True)
class _Built:
    name: str
    data: bytes


def _hash(data: bytes, length: int = 10) -> str:
    return hashlib.sha256(data).hexdigest()[:length]


def _zip_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    return info


def client_wheel(dest_dir: Path) -> Path:
    """A reproducible py3-none-any wheel of ``client_py``: sources (compiled later) and its data
    files (:data:`CLIENT_DATA`, e.g. the chat-tone weights), which the compile step keeps as-is."""
    dist = f"rapport_client-{CLIENT_VERSION}"
    files = {
        f"client_py/{path.relative_to(REPO / 'client_py').as_posix()}": path.read_bytes()
        for pattern in ("*.py", *CLIENT_DATA)
        for path in sorted((REPO / "client_py").rglob(pattern))
    }
    files[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: rapport-client\nVersion: {CLIENT_VERSION}\n"
        "Summary: Rapport's on-device logic (runs in Pyodide)\n"
    ).encode()
    files[f"{dist}.dist-info/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: rapport-build-sdk\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{name},,\n" for name in files) + f"{dist}.dist-info/RECORD,,\n"
    files[f"{dist}.dist-info/RECORD"] = record.encode()
    path = dest_dir / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in files.items():
            whl.writestr(_zip_member(name), data)
    return path


def _split_member(wheel: bytes, member: str) -> tuple[bytes, bytes]:
    """``wheel`` without ``member`` (and its RECORD line), and ``member``'s bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as source, zipfile.ZipFile(out, "w") as dest:
        data = source.read(member)
        for info in source.infolist():
            if info.filename == member:
                continue
            body = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = body.decode().splitlines(keepends=True)
                body = "".join(x for x in lines if not x.startswith(member + ",")).encode()
            dest.writestr(info, body)
    return out.getvalue(), data


def _node(script: str, *args: str | Path) -> str:
    try:
        done = subprocess.run(
            ["node", str(ROOT / "node" / script), *map(str, args)],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except FileNotFoundError as exc:
        raise BuildError("node is not installed (Node 20 is needed to build the SDK)") from exc
    except subprocess.CalledProcessError as exc:
        # Node prints the whole minified line of the failing module first: keep the readable rest.
        readable = "\n".join(line for line in exc.stderr.splitlines() if len(line) < 500)
        raise BuildError(f"{script} failed:\n{exc.stdout[-2000:]}\n{readable[-4000:]}") from exc
    return done.stdout


def _brotli(data: bytes) -> bytes:
    """Brotli at quality 11: the smallest of its default settings and, for files over
    :data:`BROTLI_TRY_BYTES`, :data:`BROTLI_TRIES`."""
    best = brotli.compress(data, quality=11)
    if len(data) > BROTLI_TRY_BYTES:
        for settings in BROTLI_TRIES:
            candidate = brotli.compress(data, quality=11, **settings)
            if len(candidate) < len(best):
                best = candidate
    return best


def _precompress(path: Path) -> dict[str, int]:
    """Write ``.br`` and ``.gz`` siblings (skipped when present: hashed names are immutable)."""
    data = path.read_bytes()
    br, gz = path.with_name(path.name + ".br"), path.with_name(path.name + ".gz")
    if not br.exists() or path.name in ("rapport.js", "manifest.json"):
        br.write_bytes(_brotli(data))
    if not gz.exists() or path.name in ("rapport.js", "manifest.json"):
        gz.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return {"bytes": len(data), "br": br.stat().st_size, "gz": gz.stat().st_size}


def _hashed(path: str, data: bytes) -> str:
    """``dir/name.ext`` → ``name.<hash>.ext`` (e.g. ``ort.wasm.bundle.min.<hash>.mjs``)."""
    stem, _, ext = Path(path).name.rpartition(".")
    return f"{stem}.{_hash(data)}.{ext}"


def _camera_files(tmp: Path) -> tuple[list[_Built], dict[str, str]]:
    """The camera add-on's worker half: ORT, the models, the worker's face module. (The page's
    camera module, ``prompt``, is one of the loader's modules: :func:`_loader_modules`.)"""
    version = json.loads((ORT_DIR / "package.json").read_text())["version"]
    built: list[_Built] = []
    names: dict[str, str] = {"onnxruntime_web": version}
    for key, path in (
        ("ort", ORT_DIR / ORT_FILES[0]),
        ("ort_glue", ORT_DIR / ORT_FILES[1]),
        ("ort_wasm", ORT_DIR / ORT_FILES[2]),
        ("detector", MODELS_DIR / MODEL_FILES[0]),
        ("expression", MODELS_DIR / MODEL_FILES[1]),
    ):
        data = path.read_bytes()
        names[key] = _hashed(path.name, data)
        built.append(_Built(names[key], data))
    # models/infer.py's constants written in (wasm_build/cross_language.py).
    face = cross_language.face_module((ROOT / "src" / "face.mjs").read_text())
    for key in ("ort", "ort_glue", "ort_wasm", "detector", "expression"):
        face = face.replace(f"__{key.upper()}__", names[key])
    (tmp / "face.mjs").write_text(face)
    _node("minify.mjs", tmp / "face.mjs", tmp / "face.min.mjs", "module")
    face_min = (tmp / "face.min.mjs").read_bytes()
    names["face"] = f"face.{_hash(face_min)}.mjs"
    built.append(_Built(names["face"], face_min))
    return built, names


def _stub_names(stub: Path) -> set[str]:
    """The names a stand-in module exports (its ``__all__``), read without running it."""
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {ast.literal_eval(e) for e in cast(ast.List, node.value).elts}
    raise BuildError(f"{stub.name} has no __all__")


def _swap_stubs(stdlib: Path, glue: str) -> None:
    """Put Rapport's stand-ins (:data:`_STUBS`) in place of Pyodide's modules in ``stdlib`` (a
    zip), once what Pyodide reads of them is known to be there."""
    out = io.BytesIO()
    with zipfile.ZipFile(stdlib) as source:
        names = set(source.namelist())
        init = source.read(_PYODIDE_INIT).decode() if _PYODIDE_INIT in names else ""
        uses = {
            _PACKAGE_LOADER: (set(_GLUE_LOADER_USE.findall(glue)), "pyodide.asm.mjs"),
            _WEBLOOP: (
                {n.strip() for m in _WEBLOOP_USE.findall(init) for n in m.split(",")},
                _PYODIDE_INIT,
            ),
        }
        for member, (used, reader) in uses.items():
            if missing := sorted(used - _stub_names(_STUBS[member])):
                raise BuildError(
                    f"{reader} reads {missing} of {member}, which {_STUBS[member].name} does"
                    " not define: see build._STUBS"
                )
        if absent := sorted(set(_STUBS) - names):
            raise BuildError(f"Pyodide's stdlib has no {absent}: see build._STUBS")
        if absent := sorted(set(_PYODIDE_PATCHES) - names):
            raise BuildError(f"Pyodide's stdlib has no {absent}: see build._PYODIDE_PATCHES")
        if untraced := sorted(
            real for real in _DEFERRED.values() if real[:-3] not in trace_flow.EXTRA_MODULES
        ):
            raise BuildError(f"trace_flow.EXTRA_MODULES lacks {untraced}: see build._DEFERRED")
        if taken := sorted(set(_DEFERRED.values()) & names):
            raise BuildError(f"Pyodide's stdlib already has {taken}: see build._DEFERRED")
        with zipfile.ZipFile(out, "w") as dest:
            for info in source.infolist():
                stub, body = _STUBS.get(info.filename), source.read(info)
                if edits := _PYODIDE_PATCHES.get(info.filename):
                    body = _edited(body.decode("utf-8"), edits, info.filename).encode("utf-8")
                if info.filename in _DEFERRED:
                    moved = zipfile.ZipInfo(_DEFERRED[info.filename], date_time=info.date_time)
                    dest.writestr(moved, body)
                dest.writestr(info, stub.read_bytes() if stub else body)
    stdlib.write_bytes(out.getvalue())


def _edited(source: str, edits: tuple[tuple[str, str], ...], member: str) -> str:
    """``member``'s source with :data:`_PYODIDE_PATCHES`' ``edits`` made, each anchor once."""
    for anchor, replacement in edits:
        source = _replace_once(source, anchor, replacement, "_PYODIDE_PATCHES", file=member)
    return source


def _minified_pyodide(tmp: Path) -> tuple[Path, dict[str, int]]:
    """A copy of Pyodide's npm package with :data:`PYODIDE_MINIFIED` minified, the package
    stand-ins swapped in (:data:`_STUBS`) and the wasm's uncalled exports dropped
    (``wasm_build/wasm_dce.py``): what the compile step boots (twice) and what the bundle
    ships. Also returns how many function exports the wasm kept and dropped."""
    dest = tmp / "pyodide"
    dest.mkdir()
    for path in sorted(PYODIDE_DIR.iterdir()):
        if path.is_file() and path.name not in PYODIDE_MINIFIED:
            shutil.copyfile(path, dest / path.name)
    published = (PYODIDE_DIR / "pyodide.asm.mjs").read_text(encoding="utf-8")
    glue, evals = _GLUE_DIRECT_EVAL.subn("(0,eval)(", published)
    wasm = (PYODIDE_DIR / "pyodide.asm.wasm").read_bytes()
    imported = [name.decode() for name in _GLUE_EVAL_IMPORTS if name in wasm]
    if evals != _GLUE_DIRECT_EVALS or imported:
        raise BuildError(
            f"pyodide.asm.mjs holds {evals} direct evals ({_GLUE_DIRECT_EVALS} expected) and its"
            f" wasm names {imported or 'none'} of {_GLUE_EVAL_IMPORTS}: see build._GLUE_DIRECT_EVAL"
        )
    glue = _replace_once(glue, _GLUE_SNAPSHOT_COPY, _GLUE_SPARSE_COPY, "_GLUE_SNAPSHOT_COPY")
    glue = _replace_once(
        glue, _GLUE_SNAPSHOT_TAKE, _GLUE_SNAPSHOT_UP_TO_BREAK, "_GLUE_SNAPSHOT_TAKE"
    )
    linked = {i.name for i in wasm_sections.imports(wasm) if i.module.startswith("GOT.")}
    if own := sorted(linked & wasm_sections.exports(wasm)):
        raise BuildError(
            f"pyodide.asm.wasm links {len(own)} of its own exports through its GOT (e.g."
            f" {own[0]!r}): see build._GLUE_MAIN_GOT"
        )
    glue = _replace_once(glue, _GLUE_MAIN_GOT, _GLUE_NO_MAIN_GOT, "_GLUE_MAIN_GOT")
    glue = _boot_with_imports(glue)
    glue = _add_functions_at_once(glue)
    sources = [(PYODIDE_DIR / "pyodide.mjs").read_text(encoding="utf-8")]
    sources += [path.read_text(encoding="utf-8") for path in sorted((ROOT / "src").glob("*.mjs"))]
    try:
        called = wasm_dce.called_exports(wasm, published, sources)
        dropped = wasm_dce.drop_uncalled_exports(
            PYODIDE_DIR / "pyodide.asm.wasm", dest / "pyodide.asm.wasm", called, METADCE
        )
    except wasm_dce.DceError as exc:
        raise BuildError(str(exc)) from exc
    _swap_stubs(dest / "python_stdlib.zip", glue)
    (tmp / "pyodide.asm.mjs").write_text(glue, encoding="utf-8")
    for name in PYODIDE_MINIFIED:
        source = tmp / name if name == "pyodide.asm.mjs" else PYODIDE_DIR / name
        _node("minify.mjs", source, dest / name, "module")
        minified = dest / name
        minified.write_text(
            EAGER_COMPILE_HINT + minified.read_text(encoding="utf-8"), encoding="utf-8"
        )
    return dest, {"function_exports_kept": len(called), "function_exports_dropped": len(dropped)}


def _boot_with_imports(glue: str) -> str:
    """``glue`` whose ``finalizeBootstrap`` imports what it ran Python source for
    (:data:`_GLUE_BOOT_EVALS`), once nothing else runs source through ``runPythonInternal``."""
    glue = _replace_once(glue, _GLUE_BOOT_EVALS, _GLUE_BOOT_IMPORTS, "_GLUE_BOOT_EVALS")
    if "runPythonInternal(" in glue:
        raise BuildError("pyodide.asm.mjs runs Python source elsewhere: see build._GLUE_BOOT_EVALS")
    return glue


def _replace_once(
    text: str, anchor: str, replacement: str, constant: str, *, file: str = "pyodide.asm.mjs"
) -> str:
    """``text`` (Pyodide's ``file``) with its one ``anchor`` replaced; when the published file no
    longer holds it exactly once (a Pyodide bump changed it), a build error naming the
    ``constant`` that says why the build patches it."""
    if text.count(anchor) != 1:
        raise BuildError(f"{file} no longer holds {anchor!r} once: see build.{constant}")
    return text.replace(anchor, replacement)


def _add_functions_at_once(glue: str) -> str:
    """The glue with ``reportUndefinedSymbols`` wrapping its functions with one module
    (:data:`_GLUE_ADD_FUNCTIONS`)."""
    for anchor, replacement in _GLUE_ADD_FUNCTIONS:
        glue = _replace_once(glue, anchor, replacement, "_GLUE_ADD_FUNCTIONS")
    # Inside the glue's module function (its helpers are local to it), after the caller.
    end = _GLUE_ADD_FUNCTIONS[-1][1]
    return glue.replace(end, f"{end}\n{GLUE_ADD_FUNCTIONS_JS.read_text(encoding='utf-8')}\n")


def _addon(tmp: Path, key: str) -> bytes:
    """One of the loader's on-demand modules (``src/<key>.mjs``), minified."""
    _node("minify.mjs", ROOT / "src" / f"{key}.mjs", tmp / f"{key}.min.mjs", "module")
    return (tmp / f"{key}.min.mjs").read_bytes()


def _loader_modules(sources: Mapping[str, bytes]) -> dict[str, _Built]:
    """The files the loader names (role → minified module), all under one hash of all four.

    Each name is random hex to brotli, so four hashes cost the loader ≈ 30 B of its 3 KB budget
    and moved its size by up to 12 B from build to build with the hashes alone; one shared hash
    costs a quarter of that and holds still. The price: a change to any of the four renames all
    four, so a returning visitor downloads ≤ 10 KB again and boots cold once (the warm-start
    snapshot is keyed by the worker's name), as after any other release.
    """
    shared = _hash(b"".join(hashlib.sha256(sources[role]).digest() for role in LOADER_MODULES))
    return {
        role: _Built(f"{stem}.{shared}.mjs", sources[role]) for role, stem in LOADER_MODULES.items()
    }


def minify_loader(loader: str, loads: Mapping[str, str], tmp: Path) -> bytes:
    """``rapport.js``: the joined loader (:func:`join_loader`) with the hashed names of the files
    it loads written in (``loads``: role → file name, see :data:`LOADER_PLACEHOLDERS`), minified
    with terser. A test runs it again on the sources to prove the shipped loader is their join."""
    for placeholder, role in LOADER_PLACEHOLDERS.items():
        loader = loader.replace(placeholder, loads[role])
    left = sorted(set(re.findall(r'"(__[A-Z_]+__)"', loader)))
    if left:
        raise BuildError(f"the loader names {', '.join(left)}, which the build does not write in")
    (tmp / "loader.js").write_text(loader)
    _node("minify.mjs", tmp / "loader.js", tmp / "rapport.min.js")
    return (tmp / "rapport.min.js").read_bytes()


def build_sdk(out_dir: Path) -> Path:
    """Build the bundle into ``out_dir`` and return the manifest's path."""
    if not (PYODIDE_DIR / "pyodide.mjs").exists():
        raise BuildError(f"{PYODIDE_DIR} is missing: run `npm ci` in {ROOT}")
    if not (ORT_DIR / ORT_FILES[2]).exists():
        raise BuildError(f"{ORT_DIR} is missing: run `npm ci` in {ROOT}")
    try:
        loader = join_loader()
    except LoaderJoinError as exc:
        raise BuildError(f"the loader's modules (src/loader/) cannot be joined: {exc}") from exc
    drift = cross_language.face_disagreements(
        (ROOT / "src" / "face.mjs").read_text()
    ) + cross_language.event_code_disagreements(loader)
    if drift:
        raise BuildError("Python and the bundle's JavaScript disagree:\n" + "\n".join(drift))
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rapport-sdk-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = client_wheel(tmp)
        pyodide_dir, wasm_exports = _minified_pyodide(tmp)
        report: dict[str, Any] = json.loads(
            _node(
                "compile_python.mjs", pyodide_dir, wheel, ROOT, tmp, CLIENT_ZIP, REPO / TONE_MEMBER
            )
            .strip()
            .splitlines()[-1]
        )
        stdlib = (tmp / "python_stdlib.zip").read_bytes()
        compiled_wheel, tone = _split_member((tmp / "client.whl").read_bytes(), TONE_MEMBER)
        tone_name = f"tone_model.{_hash(tone)}.bin"

        core = {name: (pyodide_dir / name).read_bytes() for name in PYODIDE_CORE}
        core_dir = f"pyodide-{_hash(b''.join(hashlib.sha256(d).digest() for d in core.values()))}"
        built = [_Built(f"{core_dir}/{name}", data) for name, data in core.items()]
        stdlib_name = f"python_stdlib.{_hash(stdlib)}.zip"
        wheel_name = f"rapport_client-{CLIENT_VERSION}.{_hash(compiled_wheel)}.whl"
        built += [
            _Built(stdlib_name, stdlib),
            _Built(wheel_name, compiled_wheel),
            _Built(tone_name, tone),
        ]

        camera_built, camera = _camera_files(tmp)
        built += camera_built

        lock_info = json.loads((PYODIDE_DIR / "pyodide-lock.json").read_text())["info"]
        worker_text = (
            (ROOT / "src" / "worker.mjs")
            .read_text()
            .replace("__PYODIDE_DIR__", core_dir)
            .replace("__STDLIB__", stdlib_name)
            .replace("__WHEEL__", wheel_name)
            .replace("__CLIENT_ZIP__", CLIENT_ZIP)
            .replace("__TONE__", tone_name)
            .replace("__LOCK_INFO__", json.dumps(lock_info))
            .replace("__FACE__", camera["face"])
        )
        # Minified like the add-ons: every visitor downloads it before Python can start.
        (tmp / "worker.mjs").write_text(worker_text)
        _node("minify.mjs", tmp / "worker.mjs", tmp / "worker.min.mjs", "module")
        sources = {
            role: _addon(tmp, stem) for role, stem in LOADER_MODULES.items() if role != "worker"
        }
        sources["worker"] = (tmp / "worker.min.mjs").read_bytes()
        named = _loader_modules(sources)
        built += named.values()
        worker_name = named["worker"].name
        camera["prompt"] = named["prompt"].name
        addons = {key: named[key] for key in ADDONS}
        loads = {role: item.name for role, item in named.items()}
        built.append(_Built("rapport.js", minify_loader(loader, loads, tmp)))

    files: dict[str, Any] = {}
    for item in built:
        path = out_dir / item.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != item.data:
            path.write_bytes(item.data)
        files[item.name] = {"sha256": hashlib.sha256(item.data).hexdigest(), **_precompress(path)}

    roles = {
        "loader": "rapport.js",
        "worker": worker_name,
        **{name: f"{core_dir}/{name}" for name in PYODIDE_CORE},
        "stdlib": stdlib_name,
        "wheel": wheel_name,
        "tone_model": tone_name,
        **{key: item.name for key, item in addons.items()},
        **{key: camera[key] for key in CAMERA_KEYS},
    }
    for role, name in roles.items():
        files[name]["role"] = role
        files[name]["budget_br"] = budget.FILE_BUDGETS_BR[role]
    problems = budget.check(roles, files)
    if problems:
        raise BuildError("over budget:\n" + "\n".join(problems))
    camera_names = [camera[k] for k in CAMERA_KEYS]
    after_consent = camera_names[1:]
    manifest = {
        "client_version": CLIENT_VERSION,
        # Downloaded only where used: `prompt` on sites with data-camera="ask", the rest only
        # after the visitor allowed the camera.
        "camera": {
            "onnxruntime_web": camera["onnxruntime_web"],
            "files": {k: camera[k] for k in CAMERA_KEYS},
            "prompt": {k: files[camera["prompt"]][k] for k in ("bytes", "br")},
            "after_consent": {
                "bytes": sum(files[n]["bytes"] for n in after_consent),
                "br": sum(files[n]["br"] for n in after_consent),
            },
            "total": {
                "bytes": sum(files[n]["bytes"] for n in camera_names),
                "br": sum(files[n]["br"] for n in camera_names),
            },
        },
        # Imported by the loader only when used (see the module docstring).
        "addons": {
            key: {"file": item.name, **{k: files[item.name][k] for k in ("bytes", "br")}}
            for key, item in addons.items()
        },
        "pyodide": report["pyodide"],
        # Pyodide's wasm keeps only the exports JavaScript calls (wasm_build/wasm_dce.py).
        "pyodide_wasm": wasm_exports,
        # The loader's modules (src/loader/), in the order rapport.js holds them.
        "loader_modules": loader_modules(),
        "entry": {
            "loader": "rapport.js",
            "worker": worker_name,
            "stdlib": stdlib_name,
            "wheel": wheel_name,
            "tone_model": tone_name,
            "pyodide_dir": core_dir,
        },
        "files": files,
        "compile": {
            k: report[k] for k in ("stdlib", "wheel", "boot_ms_full_py", "boot_ms_trimmed_pyc")
        },
        "budget": {
            "loader_br_bytes": LOADER_BUDGET_BYTES_BR,
            "cold_br_bytes": budget.COLD_BUDGET_BR,
            "files_br_bytes": dict(budget.FILE_BUDGETS_BR),
        },
        # What an ordinary page downloads on a visitor's first visit (wasm_build/budget.py).
        "cold": {"roles": list(budget.COLD_ROLES), **budget.cold_total(roles, files)},
        "total": {
            "bytes": sum(f["bytes"] for f in files.values()),
            "br": sum(f["br"] for f in files.values()),
        },
    }
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _precompress(manifest_path)
    _remove_stale(out_dir, {*files, "manifest.json"})
    return manifest_path


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Drop files of older builds so the served directory is exactly this build."""
    wanted = keep | {f"{name}.br" for name in keep} | {f"{name}.gz" for name in keep}
    for path in sorted(out_dir.rglob("*"), reverse=True):
        rel = path.relative_to(out_dir).as_posix()
        if path.is_file() and rel not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def main() -> None:
    manifest = build_sdk(REPO / "wasm_build" / "dist")
    print(manifest)


if __name__ == "__main__":
    shutil.which("node") or print("warning: node not found")
    main()
