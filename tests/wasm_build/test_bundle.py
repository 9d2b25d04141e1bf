"""The built bundle: size budget, content-hashed names, precompiled Python, nothing from a CDN."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import brotli
import pytest

from wasm_build.build import LOADER_BUDGET_BYTES_BR

DIST = Path(__file__).resolve().parents[2] / "wasm_build" / "dist"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    path = DIST / "manifest.json"
    if not path.exists():
        pytest.fail("the SDK is not built: run `make sdk` (the test command builds it)")
    return dict(json.loads(path.read_text()))


def test_the_loader_is_within_its_brotli_budget() -> None:
    size = len(brotli.compress((DIST / "rapport.js").read_bytes(), quality=11))
    assert size <= LOADER_BUDGET_BYTES_BR == 3 * 1024


def test_every_file_but_the_entry_points_has_its_content_hash_in_its_name(
    manifest: dict[str, Any],
) -> None:
    for name, info in manifest["files"].items():
        data = (DIST / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"]
        if name == "rapport.js":
            continue
        assert re.search(r"[.-][0-9a-f]{10}[./]", name), name


def test_every_file_has_brotli_and_gzip_siblings(manifest: dict[str, Any]) -> None:
    for name in manifest["files"]:
        assert (DIST / f"{name}.br").exists() and (DIST / f"{name}.gz").exists()


def test_the_stdlib_is_precompiled_and_trimmed(manifest: dict[str, Any]) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["stdlib"]) as stdlib:
        names = stdlib.namelist()
    assert names and all(name.endswith(".pyc") for name in names)
    assert "json/decoder.pyc" in names
    assert "tkinter/__init__.pyc" not in names and "unittest/case.pyc" not in names


def test_the_client_wheel_ships_only_compiled_client_py(manifest: dict[str, Any]) -> None:
    with zipfile.ZipFile(DIST / manifest["entry"]["wheel"]) as wheel:
        code = [n for n in wheel.namelist() if not n.startswith("rapport_client-")]
    assert code and all(n.startswith("client_py/") and n.endswith(".pyc") for n in code)
    assert "client_py/agent.pyc" in code


def test_our_own_scripts_name_no_third_party_host(manifest: dict[str, Any]) -> None:
    entry = manifest["entry"]
    for name in (entry["loader"], entry["worker"]):
        text = (DIST / name).read_text()
        assert not re.search(r"https?://", text), name
