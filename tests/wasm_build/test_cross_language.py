"""Python is the one source of what crosses into the bundle's JavaScript (issue 12)."""

from __future__ import annotations

import re
from pathlib import Path

from rapport.client_py.events import EVENT_CODES
from rapport.wasm_build import cross_language
from rapport.wasm_build.loader_join import join_loader

REPO = Path(__file__).resolve().parents[2]
FACE = (REPO / "wasm_build" / "src" / "face.mjs").read_text()
#: The loader as the build joins it from its modules (wasm_build/src/loader/*.js).
LOADER = join_loader()


def test_face_mjs_and_infer_py_agree_on_every_shared_constant() -> None:
    assert cross_language.face_disagreements(FACE) == []


def test_a_constant_changed_in_infer_py_is_named_with_both_values() -> None:
    source = (REPO / "models" / "infer.py").read_text().replace("CROP_W = 0.89", "CROP_W = 0.9")
    changed = cross_language.python_face_constants(source)
    assert cross_language.face_disagreements(FACE, changed) == [
        "face.mjs CROP_W = 0.89 but models/infer.py CROP_W = 0.9"
    ]


def test_the_bundled_face_module_takes_its_constants_from_python() -> None:
    changed = {**cross_language.python_face_constants(), "CROP_W": 0.9, "DET": 160.0}
    bundled = cross_language.face_module(FACE, changed)
    assert "export const CROP_W = 0.9;" in bundled and "export const DET = 160;" in bundled
    assert cross_language.face_disagreements(bundled, changed) == []


def test_the_loader_writes_exactly_the_event_codes_python_parses() -> None:
    assert cross_language.loader_event_codes(LOADER) == set(EVENT_CODES)
    assert cross_language.event_code_disagreements(LOADER) == []


def test_a_loader_code_python_does_not_parse_is_reported() -> None:
    drifted = LOADER.replace('push(["fi", now()]', 'push(["focus", now()]')
    assert cross_language.event_code_disagreements(drifted) == [
        "the loader writes 'focus', client_py/events.py does not parse it",
        "client_py/events.py parses 'fi', the loader never writes it",
    ]


def test_the_docs_table_of_the_loader_arrays_lists_every_event_code() -> None:
    docs = (REPO / "docs" / "client.md").read_text()
    table = docs.split("## What the loader captures", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r'"([a-z]+)"', table))
    assert documented == set(EVENT_CODES)
