"""The built bundle: size budget, content-hashed names, precompiled Python, nothing from a CDN."""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import brotli
import pytest

from rapport.wasm_build import budget, trace_flow, wasm_sections
from rapport.wasm_build.build import (
    _DEFERRED,
    _GLUE_MAIN_GOT,
    _GLUE_NO_MAIN_GOT,
    _GLUE_SNAPSHOT_COPY,
    _GLUE_SNAPSHOT_TAKE,
    _GLUE_SPARSE_COPY,
    _PYODIDE_PATCHES,
    _STUBS,
    CLIENT_ZIP,
    EAGER_COMPILE_HINT,
    LOADER_BUDGET_BYTES_BR,
    LOADER_MODULES,
    PYODIDE_DIR,
    PYODIDE_MINIFIED,
    BuildError,
    _add_functions_at_once,
    _boot_with_imports,
    _edited,
    _swap_stubs,
    minify_loader,
)
from rapport.wasm_build.loader_join import join_loader, loader_modules

WASM_BUILD = Path(__file__).resolve().parents[2] / "wasm_build"
DIST = WASM_BUILD / "dist"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    path = DIST / "manifest.json"
    if not path.exists():
        pytest.fail("the SDK is not built: run `make sdk` (the test command builds it)")
    return dict(json.loads(path.read_text()))


def test_the_loader_is_within_its_brotli_budget() -> None:
    size = len(brotli.compress((DIST / "rapport.js").read_bytes(), quality=11))
    assert size <= LOADER_BUDGET_BYTES_BR == 3 * 1024


def test_the_shipped_loader_is_the_join_of_its_modules_minified(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    loads = {info["role"]: name for name, info in manifest["files"].items() if "role" in info}
    assert manifest["loader_modules"] == loader_modules()
    assert minify_loader(join_loader(), loads, tmp_path) == (DIST / "rapport.js").read_bytes()


def test_the_shipped_loader_is_a_classic_script_that_adds_only_window_rapport() -> None:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = Path(__file__).with_name("loader_in_a_page.cjs")
    done = subprocess.run(
        ["node", str(script), str(DIST / "rapport.js")], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == {
        "added": ["rapport"],
        "api": [
            *("version", "ready", "hints", "on", "chat", "configure", "feedback"),
            *("visitor", "camera", "track", "holdout"),
        ],
        "visitor": ["export", "erase"],
        "camera": ["ask", "stop"],
        "ready": False,  # off under Global Privacy Control
        "second_copy_kept_the_first": True,
        "listeners": ["DOMContentLoaded"],  # boxes stay hidden, also when Rapport is off
    }


def test_every_file_has_a_role_and_fits_its_brotli_budget(manifest: dict[str, Any]) -> None:
    files = {name: info for name, info in manifest["files"].items() if name != "manifest.json"}
    for name, info in files.items():
        assert info["budget_br"] == budget.FILE_BUDGETS_BR[info["role"]], name
        assert info["br"] == (DIST / f"{name}.br").stat().st_size <= info["budget_br"], name
        assert info["gz"] == (DIST / f"{name}.gz").stat().st_size, name
        assert info["bytes"] == (DIST / name).stat().st_size, name
    assert sorted(info["role"] for info in files.values()) == sorted(budget.FILE_BUDGETS_BR)


def test_the_cold_download_is_the_first_visit_files_and_fits_its_budget(
    manifest: dict[str, Any],
) -> None:
    cold = [info for info in manifest["files"].values() if info.get("role") in budget.COLD_ROLES]
    assert len(cold) == len(budget.COLD_ROLES)
    assert manifest["cold"]["br"] == sum(info["br"] for info in cold) <= budget.COLD_BUDGET_BR
    assert manifest["budget"]["cold_br_bytes"] == budget.COLD_BUDGET_BR


def test_a_file_over_its_budget_is_named_with_its_excess() -> None:
    roles = {role: f"{role}.bin" for role in budget.FILE_BUDGETS_BR}
    files = {name: {"bytes": 1, "br": 1, "gz": 1} for name in roles.values()}
    assert budget.check(roles, files) == []
    files["stdlib.bin"]["br"] = budget.FILE_BUDGETS_BR["stdlib"] + 5
    (problem,) = budget.check(roles, files)
    assert problem.startswith("stdlib.bin (stdlib) is ") and "5 B over" in problem


def test_the_cold_download_over_its_budget_fails_even_when_each_file_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roles = {role: f"{role}.bin" for role in budget.FILE_BUDGETS_BR}
    files = {name: {"bytes": 1, "br": 1, "gz": 1} for name in roles.values()}
    for role in budget.COLD_ROLES:
        files[roles[role]]["br"] = budget.FILE_BUDGETS_BR[role]
    at_limit = sum(budget.FILE_BUDGETS_BR[r] for r in budget.COLD_ROLES)
    monkeypatch.setattr(budget, "COLD_BUDGET_BR", min(budget.COLD_BUDGET_BR, at_limit - 1))
    (problem,) = budget.check(roles, files)
    assert problem.startswith("the cold download")


def test_every_file_but_the_entry_points_has_its_content_hash_in_its_name(
    manifest: dict[str, Any],
) -> None:
    for name, info in manifest["files"].items():
        data = (DIST / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"]
        if name == "rapport.js":
            continue
        assert re.search(r"[.-][0-9a-f]{10}[./]", name), name


def test_the_files_the_loader_names_share_one_hash_of_all_four(manifest: dict[str, Any]) -> None:
    # One random string in the loader instead of four: its size no longer moves with the hashes.
    by_role = {
        info["role"]: name
        for name, info in manifest["files"].items()
        if info.get("role") in LOADER_MODULES
    }
    digests = b"".join(
        hashlib.sha256((DIST / by_role[role]).read_bytes()).digest() for role in LOADER_MODULES
    )
    shared = hashlib.sha256(digests).hexdigest()[:10]
    assert by_role == {role: f"{stem}.{shared}.mjs" for role, stem in LOADER_MODULES.items()}
    loader = (DIST / "rapport.js").read_text()
    assert all(f'"{name}"' in loader for name in by_role.values())


def test_every_file_has_brotli_and_gzip_siblings(manifest: dict[str, Any]) -> None:
    for name in manifest["files"]:
        assert (DIST / f"{name}.br").exists() and (DIST / f"{name}.gz").exists()


def test_the_cold_brotli_siblings_decode_to_their_files(manifest: dict[str, Any]) -> None:
    # Some are encoded with settings of their own (build.BROTLI_TRIES): still plain brotli.
    for name, info in manifest["files"].items():
        if info.get("role") in budget.COLD_ROLES:
            data = (DIST / name).read_bytes()
            assert brotli.decompress((DIST / f"{name}.br").read_bytes()) == data, name


def test_the_stdlib_is_precompiled_and_trimmed(manifest: dict[str, Any]) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["stdlib"]) as stdlib:
        names = stdlib.namelist()
    assert names and all(name.endswith(".pyc") for name in names)
    assert "json/decoder.pyc" in names
    assert "tkinter/__init__.pyc" not in names and "unittest/case.pyc" not in names


def test_pyodide_ships_its_js_minified(manifest: dict[str, Any]) -> None:
    core = DIST / manifest["entry"]["pyodide_dir"]
    for name in PYODIDE_MINIFIED:
        published, shipped = (PYODIDE_DIR / name).read_bytes(), (core / name).read_bytes()
        assert len(shipped) < 0.99 * len(published), name
        assert b"sourceMappingURL" not in shipped, name  # the map is not shipped


def test_pyodides_webassembly_ships_without_the_exports_no_javascript_calls(
    manifest: dict[str, Any],
) -> None:
    published = (PYODIDE_DIR / "pyodide.asm.wasm").read_bytes()
    shipped = (DIST / manifest["entry"]["pyodide_dir"] / "pyodide.asm.wasm").read_bytes()
    before, after = wasm_sections.export_kinds(published), wasm_sections.export_kinds(shipped)
    kept = {name for name, _ in after}
    # Memory, table, globals and tags all stay; of the functions, what JavaScript calls.
    assert {name for name, kind in before if kind != 0} <= kept
    assert {"PyErr_Occurred", "malloc", "free", "__main_argc_argv"} <= kept
    assert not {"sqlite3_open", "BZ2_bzCompress", "ZSTD_compress"} & kept
    functions = sum(kind == 0 for _, kind in after)
    assert manifest["pyodide_wasm"] == {
        "function_exports_kept": functions,
        "function_exports_dropped": sum(kind == 0 for _, kind in before) - functions,
    }
    assert len(shipped) < 0.95 * len(published)


def _published_and_shipped_glue(manifest: dict[str, Any]) -> tuple[str, str]:
    """Pyodide's ``pyodide.asm.mjs`` as npm publishes it, and as the bundle ships it."""
    published = (PYODIDE_DIR / "pyodide.asm.mjs").read_text()
    return published, (DIST / manifest["entry"]["pyodide_dir"] / "pyodide.asm.mjs").read_text()


def test_pyodide_glue_ships_with_no_direct_eval_so_all_of_it_is_minified(
    manifest: dict[str, Any],
) -> None:
    published, glue = _published_and_shipped_glue(manifest)
    direct = re.compile(r"(?<![\w$.])eval\(")
    assert len(direct.findall(published)) == 6 and direct.findall(glue) == []
    assert glue.count("(0,eval)(") == 6


def test_the_worker_loads_no_pyodide_package_so_no_side_module_runs() -> None:
    # What makes the glue's indirect evals safe (build._GLUE_DIRECT_EVAL): they serve only the
    # side modules (.so) of packages, and the worker gives Pyodide an empty lock file.
    worker = (DIST.parent / "src" / "worker.mjs").read_text()
    assert "lockFileContents: { info: BUILD.lock, packages: {} }," in worker
    assert "packages: []," in worker
    assert not re.search(r"loadPackage|micropip|loadDynlib", worker)


def test_the_client_wheel_ships_only_compiled_client_py(manifest: dict[str, Any]) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["wheel"]) as wheel:
        code = [n for n in wheel.namelist() if not n.startswith("rapport_client-")]
    assert code and all(n.startswith("client_py/") and n.endswith(".pyc") for n in code)
    assert "client_py/agent.pyc" in code


def test_the_chat_tone_weights_ship_beside_the_wheel_outside_the_cold_download(
    manifest: dict[str, Any],
) -> None:
    """Issue 19: a site without chat never downloads them; the worker fetches them on the
    page's first chat message (the flow was traced and proved with them in the compile step)."""
    weights = (Path(__file__).resolve().parents[2] / "client_py" / "tone_model.bin").read_bytes()
    name = manifest["entry"]["tone_model"]
    assert (DIST / name).read_bytes() == weights
    assert manifest["files"][name]["role"] == "tone_model"
    assert "tone_model" not in manifest["cold"]["roles"]
    worker = (DIST / manifest["entry"]["worker"]).read_text()
    assert name in worker
    with zipfile.ZipFile(DIST / manifest["entry"]["wheel"]) as wheel:
        names = wheel.namelist()
        record = wheel.read(next(n for n in names if n.endswith("RECORD"))).decode()
    assert "client_py/tone_model.bin" not in names and "tone_model.bin" not in record
    assert not [n for n in names if "train" in n or n.startswith("models/")]


def test_our_own_scripts_name_no_third_party_host(manifest: dict[str, Any]) -> None:
    entry = manifest["entry"]
    for name in (entry["loader"], entry["worker"]):
        text = (DIST / name).read_text()
        assert not re.search(r"https?://", text), name


def test_the_camera_add_on_is_hashed_listed_and_never_names_a_cdn(manifest: dict[str, Any]) -> None:
    camera = manifest["camera"]
    assert camera["onnxruntime_web"] == "1.23.2"
    names = camera["files"]
    assert set(names) == {"prompt", "face", "ort", "ort_glue", "ort_wasm", "detector", "expression"}
    for name in names.values():
        assert name in manifest["files"], name
    for key in ("prompt", "face"):
        text = (DIST / names[key]).read_text()
        assert not re.search(r"https?://", text), key
    face = (DIST / names["face"]).read_text()
    for key in ("ort", "ort_glue", "ort_wasm", "detector", "expression"):
        assert names[key] in face, key  # the worker half loads our hashed copies only
    assert "numThreads=1" in face.replace(" ", "")
    assert names["face"] in (DIST / manifest["entry"]["worker"]).read_text()
    assert camera["prompt"]["br"] < 4 * 1024
    assert camera["after_consent"]["br"] == sum(
        manifest["files"][names[k]]["br"] for k in names if k != "prompt"
    )


def test_the_loader_imports_the_camera_add_on_only_on_request(manifest: dict[str, Any]) -> None:
    loader = (DIST / "rapport.js").read_text()
    assert manifest["camera"]["files"]["prompt"] in loader
    assert "data-camera" in loader
    for key in ("face", "ort", "ort_wasm", "detector", "expression"):
        assert manifest["camera"]["files"][key] not in loader, key


def test_the_models_are_the_committed_ones(manifest: dict[str, Any]) -> None:
    models = json.loads((DIST.parents[1] / "models" / "manifest.json").read_text())["models"]
    names = manifest["camera"]["files"]
    for key in ("detector", "expression"):
        assert hashlib.sha256((DIST / names[key]).read_bytes()).hexdigest() == models[key]["sha256"]


def test_the_loader_injects_no_style_element_a_csp_could_refuse() -> None:
    loader = (DIST / "rapport.js").read_text()
    assert '"style"' not in loader and "<style" not in loader


def test_the_debug_panel_and_visitor_rights_are_hashed_add_ons_the_loader_names(
    manifest: dict[str, Any],
) -> None:
    loader = (DIST / "rapport.js").read_text()
    for key in ("debug", "rights"):
        name = manifest["addons"][key]["file"]
        assert re.fullmatch(rf"{key}\.[0-9a-f]{{10}}\.mjs", name)
        assert name in manifest["files"] and name in loader
        assert not re.search(r"https?://", (DIST / name).read_text()), key
    assert "rapport-debug" in loader and "data-debug" in loader


def test_the_stub_snippet_in_the_readme_and_docs_is_the_stub_file() -> None:
    repo = DIST.parents[1]
    stub = (repo / "wasm_build" / "src" / "stub.js").read_text().strip()
    assert len(stub) < 1024
    for doc in ("README.md", "docs/client.md"):
        assert stub in (repo / doc).read_text(), doc


def test_the_shipped_glue_restores_a_snapshot_with_the_sparse_copy(
    manifest: dict[str, Any],
) -> None:
    published, glue = _published_and_shipped_glue(manifest)
    assert published.count(_GLUE_SNAPSHOT_COPY) == 1
    assert "restoreSnapshot" in glue and "16384" in glue and "Module.HEAP8.set(t),l}" not in glue


def test_pyodides_shipped_js_asks_chrome_to_compile_all_of_it_as_it_streams(
    manifest: dict[str, Any],
) -> None:
    """V8's explicit compile hint is a magic comment on the file's first line."""
    for name in PYODIDE_MINIFIED:
        text = (DIST / manifest["entry"]["pyodide_dir"] / name).read_text()
        assert text.startswith(EAGER_COMPILE_HINT) and text.count("allFunctionsCalledOnLoad") == 1


def test_the_shipped_glue_saves_a_snapshot_up_to_the_heaps_break(
    manifest: dict[str, Any],
) -> None:
    published, glue = _published_and_shipped_glue(manifest)
    assert published.count(_GLUE_SNAPSHOT_TAKE) == 1
    assert len(re.findall(r"\.set\(\w+\.HEAP8\.subarray\(0,\w+\._sbrk\(0\)\)\)", glue)) == 1


def test_pyodide_links_none_of_its_own_exports_through_its_global_offset_table() -> None:
    """What makes dropping the glue's GOT fill safe (build._GLUE_MAIN_GOT): the GOT entries the
    main module itself imports are all JS functions, resolved without it."""
    wasm = (PYODIDE_DIR / "pyodide.asm.wasm").read_bytes()
    linked = [i.name for i in wasm_sections.imports(wasm) if i.module.startswith("GOT.")]
    exported = wasm_sections.exports(wasm)
    assert len(linked) > 100 and len(exported) > 5_000
    assert set(linked).isdisjoint(exported)
    assert (PYODIDE_DIR / "pyodide.asm.mjs").read_text().count(_GLUE_MAIN_GOT) == 1


def _node_says(script: Path, source: str) -> Any:
    """What a Node script written to ``script`` prints last, as JSON (Pyodide may print first)."""
    script.write_text(source)
    done = subprocess.run(["node", str(script)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _shipped_pyodide(manifest: dict[str, Any], tmp_path: Path) -> Path:
    """Pyodide's npm package with the glue the bundle ships (minified, patched)."""
    pyodide = tmp_path / "pyodide"
    shutil.copytree(PYODIDE_DIR, pyodide)
    for name in PYODIDE_MINIFIED:
        shutil.copyfile(DIST / manifest["entry"]["pyodide_dir"] / name, pyodide / name)
    return pyodide


def _after_worker_boot(manifest: dict[str, Any], tmp_path: Path, then: str) -> Any:
    """What Node prints last (as JSON) after running ``then`` in the shipped files booted as the
    worker boots them: the wheel written before Python starts and on ``PYTHONPATH``. ``then``
    has ``py`` (Pyodide), ``wheel`` and ``printed`` (Python's stderr lines)."""
    pyodide = _shipped_pyodide(manifest, tmp_path)
    shutil.copyfile(DIST / manifest["entry"]["stdlib"], pyodide / "python_stdlib.zip")
    wheel = DIST / manifest["entry"]["wheel"]
    return _node_says(
        tmp_path / "boot.mjs",
        'import { readFileSync } from "node:fs";\n'
        f"const {{ loadPyodide }} = await import({json.dumps(str(pyodide / 'pyodide.mjs'))});\n"
        f"const wheel = new Uint8Array(readFileSync({json.dumps(str(wheel))}));\n"
        f"const client = {json.dumps(CLIENT_ZIP)};\n"
        "const printed = [];\n"
        f"const py = await loadPyodide({{ indexURL: {json.dumps(str(pyodide) + '/')},"
        " env: { PYTHONPATH: client }, fsInit: (FS) => FS.writeFile(client, wheel),"
        " stderr: (line) => printed.push(line) });\n" + then,
    )


def test_the_shipped_glue_boots_with_only_the_main_modules_own_got_entries(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """Not one table slot and JS wrapper per exported function (7,415 of them, ≈ 45 ms of every
    boot): the GOT holds what the main module links, and Python runs."""
    pyodide = _shipped_pyodide(manifest, tmp_path)
    script = tmp_path / "boot.mjs"
    booted = _node_says(
        script,
        f"const {{ loadPyodide }} = await import({json.dumps(str(pyodide / 'pyodide.mjs'))});\n"
        f"const py = await loadPyodide({{ indexURL: {json.dumps(str(pyodide) + '/')} }});\n"
        "console.log(JSON.stringify({ got: Object.keys(py._module.GOT).length,"
        " sum: py.runPython('sum(range(10))') }));\n",
    )
    wasm = (PYODIDE_DIR / "pyodide.asm.wasm").read_bytes()
    linked = sum(1 for i in wasm_sections.imports(wasm) if i.module.startswith("GOT."))
    assert booted == {"got": linked, "sum": 45}


def test_the_glue_wraps_the_wasms_js_functions_with_one_module_into_the_same_slots(
    tmp_path: Path,
) -> None:
    """Emscripten wraps each JS function whose address the wasm takes in a module of its own
    (≈ 260 compiled on every boot); the build's glue wraps them with one. They must land in the
    same table slots as one by one: a saved boot holds those numbers in its memory."""
    without_got = (PYODIDE_DIR / "pyodide.asm.mjs").read_text(encoding="utf-8")
    without_got = without_got.replace(_GLUE_MAIN_GOT, _GLUE_NO_MAIN_GOT)
    booted = {}
    for name, glue in (
        ("one_by_one", without_got),
        ("at_once", _add_functions_at_once(without_got)),
    ):
        pyodide = tmp_path / name
        shutil.copytree(PYODIDE_DIR, pyodide)
        (pyodide / "pyodide.asm.mjs").write_text(glue, encoding="utf-8")
        booted[name] = _node_says(
            tmp_path / f"{name}.mjs",
            "let compiled = 0;\n"
            "WebAssembly.Module = new Proxy(WebAssembly.Module, { construct(target, args) {"
            " compiled++; return Reflect.construct(target, args); } });\n"
            f"const {{ loadPyodide }} = await import({json.dumps(str(pyodide / 'pyodide.mjs'))});\n"
            f"const py = await loadPyodide({{ indexURL: {json.dumps(str(pyodide) + '/')} }});\n"
            "const got = Object.entries(py._module.GOT).map(([k, e]) => [k, e.value]);\n"
            "const tabled = got.every(([, slot]) =>"
            " typeof py._module.wasmTable.get(slot) === 'function');\n"
            "console.log(JSON.stringify({ compiled, got, tabled,"
            " sum: py.runPython('sum(range(10))') }));\n",
        )
    one_by_one, at_once = booted["one_by_one"], booted["at_once"]
    assert at_once["got"] == one_by_one["got"]
    assert len({slot for _, slot in at_once["got"]}) > 250
    assert one_by_one["compiled"] > 250
    assert at_once["compiled"] < 5
    assert at_once["sum"] == one_by_one["sum"] == 45
    assert at_once["tabled"] and one_by_one["tabled"]


def test_the_build_refuses_a_glue_that_adds_its_functions_another_way() -> None:
    glue = (PYODIDE_DIR / "pyodide.asm.mjs").read_text(encoding="utf-8")
    changed = glue.replace("entry.value=addFunction(value,value.sig)", "entry.value=add(value)")
    with pytest.raises(BuildError, match="_GLUE_ADD_FUNCTIONS"):
        _add_functions_at_once(changed)


def test_the_build_refuses_a_glue_that_starts_python_another_way() -> None:
    glue = (PYODIDE_DIR / "pyodide.asm.mjs").read_text(encoding="utf-8")
    with pytest.raises(BuildError, match="_GLUE_BOOT_EVALS"):
        _boot_with_imports(glue.replace("import importlib; importlib", "import importlib as i; i"))
    with pytest.raises(BuildError, match="runs Python source elsewhere"):
        _boot_with_imports(glue + ';API.runPythonInternal("import os")')


def test_the_shipped_glue_starts_python_without_running_source_and_with_the_same_globals(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """``finalizeBootstrap`` imports ``importlib`` and takes the ``__main__`` and ``builtins``
    dicts instead of running four sources through ``eval_code``: what runs later sees the
    same globals, and ``runPythonInternal`` still has its own empty dict."""
    pyodide = _shipped_pyodide(manifest, tmp_path)
    glue = (pyodide / "pyodide.asm.mjs").read_text(encoding="utf-8")
    assert "runPythonInternal(" not in glue and 'import_module("importlib")' in glue
    booted = _node_says(
        tmp_path / "boot.mjs",
        f"const {{ loadPyodide }} = await import({json.dumps(str(pyodide / 'pyodide.mjs'))});\n"
        f"const py = await loadPyodide({{ indexURL: {json.dumps(str(pyodide) + '/')} }});\n"
        "const api = py._api;\n"
        'const main = py.runPython("x = 41\\nimport __main__\\n__main__.x");\n'
        "console.log(JSON.stringify({ main, global: py.globals.get('x'),"
        " builtin: py.globals.get('len')('four'), importlib: api.importlib.__name__,"
        " internal: api.runPythonInternal('x = 1\\nx + 1'),"
        " internalX: api.runPythonInternal_dict.get('x'),"
        " internalIsMain: api.runPythonInternal_dict.has('__name__') }));\n",
    )
    assert booted == {
        "main": 41,
        "global": 41,
        "builtin": 4,
        "importlib": "importlib",
        "internal": 2,
        "internalX": 1,
        "internalIsMain": False,  # its own dict, not __main__'s
    }


def test_the_sparse_copy_leaves_the_memory_equal_to_the_snapshot(tmp_path: Path) -> None:
    # Four 64 KB pages, (snapshot, memory before): data/zero, zero/zero, zero/data, data/data.
    # The copy must end with memory == snapshot, writing the zero/zero page not at all.
    copy = _GLUE_SPARSE_COPY.removeprefix("return").removesuffix(",l}")
    script = tmp_path / "sparse.mjs"
    assert _node_says(
        script,
        "const Module = { HEAP8: new Int8Array(4 * 65536) };\n"
        "const t = new Int8Array(4 * 65536);\n"
        "t[5] = 1; t[3 * 65536 + 9] = 2; Module.HEAP8[2 * 65536 + 7] = 3;\n"
        "Module.HEAP8[3 * 65536 + 1] = 4;\n"
        "const writes = []; const set = Module.HEAP8.set.bind(Module.HEAP8);\n"
        "const fill = Module.HEAP8.fill.bind(Module.HEAP8);\n"
        "Module.HEAP8.set = (s, at) => (writes.push(at / 65536), set(s, at));\n"
        "Module.HEAP8.fill = (v, a, b) => (writes.push(a / 65536), fill(v, a, b));\n"
        f"{copy};\n"
        "const same = Module.HEAP8.every((v, i) => v === t[i]);\n"
        "console.log(JSON.stringify({ same, writes }));\n",
    ) == {"same": True, "writes": [0, 2, 3]}


def test_the_shipped_stdlib_carries_rapports_package_loader_and_none_of_its_imports(
    manifest: dict[str, Any],
) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["stdlib"]) as stdlib:
        names = set(stdlib.namelist())
    assert "pyodide/_package_loader.pyc" in names
    for gone in ("shutil.pyc", "tempfile.pyc", "zipfile/__init__.pyc"):
        assert gone not in names


def test_the_shipped_stdlib_carries_rapports_asyncio_and_none_of_the_event_loops_modules(
    manifest: dict[str, Any],
) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["stdlib"]) as stdlib:
        names = set(stdlib.namelist())
        assert b"ships no asyncio" in stdlib.read("asyncio/__init__.pyc")
        webloop = stdlib.read("pyodide/webloop.pyc")  # compiled without docstrings
        assert b"_initialize_event_loop" in webloop and b"asyncio" not in webloop
    assert not {name for name in names if name.startswith("asyncio/")} - {"asyncio/__init__.pyc"}
    for gone in ("concurrent/futures/_base.pyc", "selectors.pyc", "socket.pyc", "subprocess.pyc",
                 "logging/__init__.pyc", "threading.pyc"):  # fmt: skip
        assert gone not in names


def _stdlib_with(tmp_path: Path, members: dict[str, str]) -> Path:
    stdlib = tmp_path / "python_stdlib.zip"
    pyodides = dict.fromkeys(_STUBS, "pass\n")  # Pyodide's modules the build replaces
    pyodides |= {m: "".join(a for a, _ in edits) for m, edits in _PYODIDE_PATCHES.items()}
    with zipfile.ZipFile(stdlib, "w") as archive:
        for name, body in (pyodides | members).items():
            archive.writestr(name, body)
    return stdlib


def test_the_build_refuses_a_glue_that_reads_more_of_the_loader_than_the_stand_in_has(
    tmp_path: Path,
) -> None:
    stdlib = _stdlib_with(tmp_path, {})
    glue = "API.package_loader.SITE_PACKAGES;API.package_loader.install_everything()"
    with pytest.raises(BuildError, match="install_everything"):
        _swap_stubs(stdlib, glue)
    _swap_stubs(stdlib, "API.package_loader.unpack_buffer(b)")
    with zipfile.ZipFile(stdlib) as archive:
        assert b"installs no packages" in archive.read("pyodide/_package_loader.py")
        assert b"ships no asyncio" in archive.read("asyncio/__init__.py")


def test_the_build_refuses_a_pyodide_that_imports_more_of_its_event_loop_than_the_stand_in_has(
    tmp_path: Path,
) -> None:
    init = "from .webloop import _initialize_event_loop, WebLoopPolicy\n"
    stdlib = _stdlib_with(tmp_path, {"pyodide/__init__.py": init})
    with pytest.raises(BuildError, match="WebLoopPolicy"):
        _swap_stubs(stdlib, "")


def test_the_build_ships_each_deferred_modules_real_code_beside_its_stand_in(
    tmp_path: Path,
) -> None:
    stdlib = _stdlib_with(tmp_path, {})
    _swap_stubs(stdlib, "")
    with zipfile.ZipFile(stdlib) as archive:
        for member, real in _DEFERRED.items():
            assert archive.read(real) == b"pass\n"  # Pyodide's own
            assert b"run on first use" in archive.read(member)
        assert b"Rapport's build" in archive.read("_pyodide/_base.py")


def test_the_build_refuses_a_pyodide_whose_stdlib_already_has_the_real_modules_new_name(
    tmp_path: Path,
) -> None:
    stdlib = _stdlib_with(tmp_path, {"_traceback_impl.py": "pass\n"})
    with pytest.raises(BuildError, match="_traceback_impl"):
        _swap_stubs(stdlib, "")


def test_the_build_refuses_a_deferred_module_the_flow_would_not_keep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tuple(name for name in trace_flow.EXTRA_MODULES if name != "_textwrap_impl")
    monkeypatch.setattr(trace_flow, "EXTRA_MODULES", kept)
    with pytest.raises(BuildError, match=r"EXTRA_MODULES lacks \['_textwrap_impl.py'\]"):
        _swap_stubs(_stdlib_with(tmp_path, {}), "")


def test_the_build_refuses_a_pyodide_whose_python_no_longer_has_what_it_patches(
    tmp_path: Path,
) -> None:
    stdlib = _stdlib_with(tmp_path, {"_pyodide/_base.py": "def should_quiet(source): ...\n"})
    with pytest.raises(BuildError, match=r"_pyodide/_base\.py no longer holds"):
        _swap_stubs(stdlib, "")


def _pyodides_base(*, patched: bool) -> dict[str, Any]:
    """Pyodide's ``_pyodide._base`` as published, or as the build edits it, run in CPython."""
    with zipfile.ZipFile(PYODIDE_DIR / "python_stdlib.zip") as stdlib:
        body = stdlib.read("_pyodide/_base.py").decode("utf-8")
    if patched:
        body = _edited(body, _PYODIDE_PATCHES["_pyodide/_base.py"], "_pyodide/_base.py")
    namespace: dict[str, Any] = {"__name__": "_base"}
    exec(compile(body, "_base.py", "exec"), namespace)
    return namespace


_SOURCES = [
    "x = 1;", "x = 1", "x = 1;  \n\n", "x = 1; # note", "x = 1 # ;", "x = ';'", "s = '#';",
    "if x:\n    y;", "if x:\n    y", "import importlib; importlib", "f(\n  1,\n);",
    "x = 1; \\\n  # joined", "'''a;\n'''", "\"\"\"a\n;\"\"\"", "{}", "", "  x = 1\n  x + 1",
    "\tx = 2\n\tx;", "x = 3\n   \nx", "x = 4\n\n\n(x\n  + 1)", "  x = 5\n\n  x # five",
]  # fmt: skip


@pytest.mark.parametrize("source", _SOURCES)
def test_pyodides_patched_should_quiet_answers_as_its_tokenizer_does(source: str) -> None:
    """The build's shortcut in ``should_quiet`` (it keeps ``tokenize`` from running as Python
    starts) gives the answer tokenizing gives, on Pyodide's own module."""
    compile(textwrap.dedent(source), "<exec>", "exec")  # as eval_code does before it asks
    published, patched = _pyodides_base(patched=False), _pyodides_base(patched=True)
    assert patched["should_quiet"](source) is published["should_quiet"](source)


@pytest.mark.parametrize("source", _SOURCES)
def test_a_source_whose_lines_start_with_no_whitespace_is_its_own_dedent(source: str) -> None:
    """What the build's shortcut in ``eval_code`` relies on (it keeps ``textwrap`` from running
    as Python starts)."""
    if not any(line[:1].isspace() for line in source.split("\n")):
        assert textwrap.dedent(source) == source


@pytest.mark.parametrize("source", [s for s in _SOURCES if s.strip() and "y" not in s])
def test_pyodides_patched_eval_code_answers_as_before(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run of the module puts its own exception class in builtins: run each, then ask it.
    monkeypatch.setattr(builtins, "___EvalCodeResultException", None, raising=False)
    answers = [
        _pyodides_base(patched=patched)["eval_code"](source, {"f": abs})
        for patched in (False, True)
    ]
    assert answers[1] == answers[0]


def _stand_in(name: str) -> ModuleType:
    """A stand-in module of ``wasm_build/`` loaded by path, as Pyodide would import it."""
    spec = importlib.util.spec_from_file_location(f"stand_in_{name}", WASM_BUILD / name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bundles_asyncio_says_why_there_is_no_event_loop() -> None:
    asyncio = _stand_in("asyncio_stub.py")
    with pytest.raises(RuntimeError, match="ships no asyncio"):
        asyncio.get_event_loop()
    with pytest.raises(AttributeError, match=r"asyncio\.run: .*ships no asyncio"):
        _ = asyncio.run


def test_pyodides_event_loop_stand_in_installs_nothing() -> None:
    assert _stand_in("webloop_stub.py")._initialize_event_loop() is None


def test_the_shipped_files_import_the_client_from_its_wheel_and_install_nothing(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """As the worker boots: the wheel written before Python starts and on PYTHONPATH, never
    unpacked; Pyodide's package installs refused with a reason; the package loader's imports
    and `random` (a restored page does not reseed it) not imported by importing the agent."""
    booted = _after_worker_boot(
        manifest,
        tmp_path,
        'const agent = py.pyimport("client_py.agent");\n'
        'const sys = py.pyimport("sys");\n'
        "const imported = ['shutil', 'tempfile', 'zipfile', 'pathlib', 'random']"
        ".filter((name) => sys.modules.has(name));\n"
        "let refused = '';\n"
        'try { py.unpackArchive(wheel, "wheel"); } catch (e) { refused = String(e.message); }\n'
        "console.log(JSON.stringify({ file: agent.__file__, imported,"
        " refused: refused.includes('installs no packages') }));\n",
    )
    assert booted == {
        "file": f"{CLIENT_ZIP}/client_py/agent.pyc",
        "imported": [],
        "refused": True,
    }


def _deferred(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The deferred stand-in as ``name``, in CPython, with CPython's module where the bundle
    ships Pyodide's (``_<name>_impl``)."""
    real = importlib.util.find_spec(name)
    assert real and real.origin
    shutil.copyfile(real.origin, tmp_path / f"_{name}_impl.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = importlib.util.spec_from_file_location(name, WASM_BUILD / "deferred_stub.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_deferred_module_runs_the_real_one_in_its_own_namespace_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _deferred("tokenize", tmp_path, monkeypatch)
    assert "generate_tokens" not in vars(module)
    tokens = list(module.generate_tokens(io.StringIO("x = 1;\n").readline))
    assert [t.string for t in tokens if t.type == module.OP] == ["=", ";"]
    assert module.generate_tokens.__globals__ is vars(module)
    assert module.TokenInfo.__module__ == "tokenize"
    assert "generate_tokens" in module.__all__
    with pytest.raises(AttributeError, match="'tokenize' has no attribute 'nothing_here'"):
        _ = module.nothing_here


def test_a_from_import_of_a_name_bound_at_boot_does_not_run_the_real_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``_pyodide._base`` and ``_pyodide.docstring`` import ``dedent`` as Python starts."""
    module = _deferred("textwrap", tmp_path, monkeypatch)
    monkeypatch.setitem(sys.modules, "textwrap", module)
    namespace: dict[str, Any] = {}
    exec("from textwrap import dedent", namespace)
    assert "TextWrapper" not in vars(module)
    assert namespace["dedent"]("  a\n  b") == "a\nb"
    assert "TextWrapper" in vars(module)


def test_a_deferred_module_whose_real_code_is_missing_says_so_on_every_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _deferred("textwrap", tmp_path, monkeypatch)
    (tmp_path / "_textwrap_impl.py").unlink()
    importlib.invalidate_caches()
    for _ in range(2):  # not a recursion the second time: the same error
        with pytest.raises(ImportError, match="_textwrap_impl is missing"):
            module.dedent("  a")


def test_the_deferred_traceback_keeps_the_excepthook_pyodide_bound_as_python_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _deferred("traceback", tmp_path, monkeypatch)
    hook = module.print_exception  # what ``_pyodide.set_excepthook`` binds as Python starts
    assert "format_exc" not in vars(module)
    try:
        raise ValueError("shown")
    except ValueError as error:
        hook(error)
        assert "ValueError: shown" in module.format_exc()
        hook(error)  # the stand-in's hook again, after the real module ran
    assert capsys.readouterr().err.count("ValueError: shown") == 2
    assert module.print_exception is not hook and module.print_exception.__module__ == "traceback"


def test_the_shipped_client_makes_its_records_without_compiling_their_init(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """As the worker boots: importing the agent compiles no record ``__init__`` (Python's
    compiler runs cold, in the wasm engine's baseline tier, on a first page); every record of
    the client runs code from the table the build compiled (client_py/_record_inits)."""
    with zipfile.ZipFile(DIST / manifest["entry"]["wheel"]) as wheel:
        assert "client_py/_record_inits.pyc" in wheel.namelist()
    booted = _after_worker_boot(
        manifest,
        tmp_path,
        'py.pyimport("client_py.agent");\n'
        'const compiled = py.pyimport("client_py.records").COMPILED.toJs();\n'
        "const records = py.runPython(`\n"
        "import sys\n"
        "from client_py._record_inits import INITS\n"
        "codes = {id(code) for code in INITS.values()}\n"
        "made = [v for name, m in list(sys.modules.items()) if name.startswith('client_py.')\n"
        "        for v in vars(m).values()\n"
        "        if isinstance(v, type) and '__record_fields__' in vars(v)]\n"
        "[len(made), sum(id(r.__init__.__code__) in codes for r in made)]\n"
        "`).toJs();\n"
        "console.log(JSON.stringify({ compiled, records }));\n",
    )
    made, from_table = booted["records"]
    assert booted["compiled"] == []
    assert made >= 20
    assert from_table == made


_CHECK_COMPILED_AHEAD = """
import _sre, collections, inspect, re, sys, types
from _rapport_compiled_ahead import LAMBDAS, PATTERNS, SIGNATURES


def computed(key):
    # As the C core asks (docstring.c): a class's method bound to an instance, so without self.
    module = max((m for m in sys.modules if key.startswith(m + ".")), key=len)
    owner, func = None, sys.modules[module]
    for part in key[len(module) + 1 :].split("."):
        owner, func = func, getattr(func, part)
    if isinstance(owner, type):
        func = types.MethodType(func, object())
    sig = inspect.signature(func)
    sig = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
        return_annotation=sig.empty,
    )
    return func.__name__ + str(sig)


def fresh(pattern, flags):
    ahead, re._compiler._compiled_ahead = re._compiler._compiled_ahead, lambda p, f: None
    try:
        return re._compiler.compile(pattern, flags)
    finally:
        re._compiler._compiled_ahead = ahead


[
    len(LAMBDAS),
    len(SIGNATURES),
    len(PATTERNS),
    all(_sre.compile(p, *args) == fresh(p, flags) for (p, flags), args in PATTERNS.items()),
    all(computed(key) == head for key, head in SIGNATURES.items()),
    inspect.FullArgSpec.__new__.__code__ in LAMBDAS.values(),
    inspect.FullArgSpec(*range(7)).kwonlydefaults,
    collections.namedtuple("P", "a b")(1, 2).b,
    list(collections._AHEAD_MISSES),
    (seen := len(re._compiler._AHEAD_MISSES)) >= 0,
    re.compile("[a-z]+(?P<n>[0-9])").match("ab1").group("n"),
    [key for key, _ in re._compiler._AHEAD_MISSES[seen:]],
]
"""


def test_the_shipped_python_takes_what_it_compiled_as_it_started_from_the_builds_table(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """As the worker boots and imports the agent, Python compiles one source only (Pyodide's
    ``import _pyodide_core``): the ``namedtuple`` ``__new__`` lambdas, the proxies' signatures
    and the regular expressions come from the build's table (what they would have been:
    checked against ``inspect`` and ``re``'s own compiler), the eval template is parsed on first
    use. Later sources and patterns still compile, and are listed."""
    booted = _after_worker_boot(
        manifest,
        tmp_path,
        'py.pyimport("client_py.agent");\n'
        'const misses = () => [...py.pyimport("collections")._AHEAD_MISSES.toJs(),'
        ' ...py.pyimport("_pyodide.docstring")._AHEAD_MISSES.toJs(),'
        ' ...py.pyimport("re._compiler")._AHEAD_MISSES.toJs()];\n'
        "const before = misses();\n"
        'const base = py.pyimport("_pyodide._base");\n'
        "const unparsed = base._raise_template_ast === undefined;\n"
        'const core = py.globals.has("_pyodide_core");\n'
        f"const checks = py.runPython({json.dumps(_CHECK_COMPILED_AHEAD)}).toJs();\n"
        'const last = py.runPython("x = 3\\nx + 1");\n'
        "console.log(JSON.stringify({ before, unparsed, core, checks, last,"
        " parsed: base._raise_template_ast !== undefined }));\n",
    )
    lambdas, signatures, patterns, *checks = booted.pop("checks")
    assert booted == {"before": [], "unparsed": True, "core": True, "last": 4, "parsed": True}
    assert lambdas >= 10 and signatures >= 40 and patterns >= 10
    assert checks == [
        True,  # every table pattern compiles to the pattern re's own compiler makes
        True,  # every signature is what inspect gives
        True,  # inspect's named tuples run the table's code
        5,
        2,
        ["lambda _cls, a, b: _tuple_new(_cls, (a, b))"],  # a new one is compiled, and listed
        True,
        "1",
        [["[a-z]+(?P<n>[0-9])", 0]],
    ]


def test_the_shipped_python_runs_its_deferred_modules_only_when_an_error_needs_them(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """As the worker boots: importing the agent runs none of the deferred modules (nor
    ``traceback``'s imports, ``_colorize`` and ``codeop``); the first error is still formatted,
    by the real modules, and through the excepthook Pyodide bound as Python started."""
    booted = _after_worker_boot(
        manifest,
        tmp_path,
        'py.pyimport("client_py.agent");\n'
        'const sys = py.pyimport("sys");\n'
        "const ran = () => ['traceback', 'tokenize', 'textwrap', '_colorize', 'codeop']"
        ".filter((name) => sys.modules.has(name) && !sys.modules.get(name).__dict__.has("
        "'__getattr__'));\n"  # a stand-in that has not run yet has its __getattr__
        "const before = ran();\n"
        "let error = '';\n"
        'try { py.runPython("1 / 0"); } catch (e) { error = String(e.message); }\n'
        'py.runPython("import sys\\ntry:\\n 1 / 0\\nexcept ZeroDivisionError as e:\\n'
        ' sys.excepthook(type(e), e, e.__traceback__)");\n'
        "console.log(JSON.stringify({ before, error: error.includes('ZeroDivisionError'),"
        " hook: printed.some((line) => line.includes('ZeroDivisionError')),"
        " after: ran() }));\n",
    )
    assert booted == {
        "before": [],
        "error": True,
        "hook": True,
        "after": ["traceback", "textwrap", "_colorize", "codeop"],  # no source to tokenize
    }


def _saved_and_restored(
    manifest: dict[str, Any], tmp_path: Path, first: str, restored: str, started: str = ""
) -> Any:
    """What Node prints last (as JSON) after the worker's two starts on the shipped files:
    ``started`` runs once Pyodide (``first``) is up, ``first`` after its memory is saved
    (``saved``) once the agent is imported, ``restored`` in a second Pyodide started from it
    (``next``)."""
    pyodide = _shipped_pyodide(manifest, tmp_path)
    shipped = DIST / manifest["entry"]["pyodide_dir"] / "pyodide.asm.wasm"
    shutil.copyfile(shipped, pyodide / "pyodide.asm.wasm")
    shutil.copyfile(DIST / manifest["entry"]["stdlib"], pyodide / "python_stdlib.zip")
    options = (
        f"indexURL: {json.dumps(str(pyodide) + '/')}, env: {{ PYTHONPATH: client }},"
        " fsInit: (FS) => FS.writeFile(client, wheel)"
    )
    return _node_says(
        tmp_path / "restore.mjs",
        'import { readFileSync } from "node:fs";\n'
        f"const {{ loadPyodide }} = await import({json.dumps(str(pyodide / 'pyodide.mjs'))});\n"
        "const wheel = new Uint8Array(readFileSync("
        f"{json.dumps(str(DIST / manifest['entry']['wheel']))}));\n"
        f"const client = {json.dumps(CLIENT_ZIP)};\n"
        f"const first = await loadPyodide({{ {options}, _makeSnapshot: true }});\n"
        f"{started}\n"
        'first.pyimport("client_py.agent");\n'
        "const saved = first.makeMemorySnapshot();\n"
        f"{first}\n"
        f"const next = await loadPyodide({{ {options}, _loadSnapshot: saved }});\n"
        f"{restored}\n",
    )


def test_the_shipped_files_save_a_boot_that_the_next_page_restores(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """As the worker's first and later pages do: Pyodide's memory after the agent's import,
    then a second Pyodide started from it. The snapshot checks which JavaScript objects Python
    holds, in order, so a stand-in that holds fewer (``webloop_stub.py``) would stop every
    page from saving its boot; the restored Python has the agent and the bundle's asyncio."""
    restored = _saved_and_restored(
        manifest,
        tmp_path,
        "",
        "const sys = next.pyimport('sys');\n"
        "console.log(JSON.stringify({ agent: sys.modules.has('client_py.agent'),"
        " asyncio: next.runPython('import asyncio\\ndef loop():\\n try: asyncio.get_event_loop()\\n"
        " except RuntimeError as e: return str(e)\\nloop()') }));",
    )
    assert restored == {
        "agent": True,
        "asyncio": "Rapport's Pyodide bundle ships no asyncio: its worker awaits nothing in"
        " Python (see wasm_build/asyncio_stub.py)",
    }


def test_a_saved_boot_copies_the_memory_up_to_the_heaps_break_and_holds_the_same_bytes(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """The glue's copy stops at ``sbrk(0)`` (build._GLUE_SNAPSHOT_UP_TO_BREAK): the memory above
    it is zeros, and the snapshot holds every byte of the memory as it was."""
    check = _saved_and_restored(
        manifest,
        tmp_path,
        "const memory = first._module.HEAP8, brk = first._module._sbrk(0);\n"
        "const heap = new Uint8Array(memory.buffer, 0, memory.length);  // as saved: unsigned\n"
        "const held = saved.subarray(saved.length - heap.length);\n"
        "let differ = 0, above = 0;\n"
        "for (let i = 0; i < heap.length; i++) if (held[i] !== heap[i]) differ++;\n"
        "for (let i = brk; i < heap.length; i++) if (heap[i]) above++;\n"
        "const check = { differ, above, brk, heap: heap.length };",
        "console.log(JSON.stringify(check));",
    )
    assert check["differ"] == 0 and check["above"] == 0
    assert 0 < check["brk"] < check["heap"] - 4 * 2**20  # megabytes not copied: the point


def test_python_starts_without_collecting_and_freezes_what_it_made_for_every_later_page(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    """build._BOOT_GC_PATCHES: no cyclic collection while Pyodide starts; then the collector is
    on, with what the start made frozen, in the first page and in one restored from its boot."""
    state = (
        "{{ on: {0}.isenabled(), frozen: {0}.get_freeze_count(), collections:"
        " {0}.get_stats().toJs({{ dict_converter: Object.fromEntries }})"
        ".map((g) => g.collections) }}"
    )
    gc = _saved_and_restored(
        manifest,
        tmp_path,
        f"const saving = {state.format('gc1')};",
        f"const gc2 = next.pyimport('gc'), later = {state.format('gc2')};\n"
        "console.log(JSON.stringify({ started, saving, later }));",
        started=f"const gc1 = first.pyimport('gc'), started = {state.format('gc1')};",
    )
    started, saving, later = gc["started"], gc["saving"], gc["later"]
    assert started["on"] and started["collections"] == [0, 0, 0]
    assert started["frozen"] > 10_000  # Pyodide's start makes ≈ 19,000 tracked objects
    # Restoring drops a few of them (the JavaScript objects Python held are made anew).
    assert later["on"] and 10_000 < later["frozen"] <= saving["frozen"]
