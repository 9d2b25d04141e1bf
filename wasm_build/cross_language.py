"""What crosses between Python and the bundle's JavaScript, with Python as the one source.

Two things are written on both sides:

* the face pipeline's constants: ``models/infer.py`` (the reference, run by the tests and the
  benches) and ``wasm_build/src/face.mjs`` (the worker's copy, under shorter names). The build
  writes Python's values into the bundled face module (:func:`face_module`), so the browser runs
  exactly infer.py's numbers; the source keeps literals so that Node can import it as it is
  (tests/models/face_agreement.mjs), and :func:`face_disagreements` lists where they drifted
  (the build and a test fail on any).
* the loader's event codes (``["pv", t, …]``): ``client_py.events.EVENT_CODES`` is the table
  and its parsers; :func:`event_code_disagreements` compares it with the codes the loader
  writes (``src/loader/*.js`` as the build joins them, ``capture.js`` for most): the build
  fails when the loader writes a code Python does not parse, or Python waits for one the
  loader never writes.

infer.py is read with :mod:`ast`, not imported: it needs numpy and onnxruntime, which the build
does not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Final

from rapport.client_py.events import EVENT_CODES

__all__ = [
    "FACE_CONSTANTS",
    "event_code_disagreements",
    "face_disagreements",
    "face_module",
    "loader_event_codes",
    "python_face_constants",
]

REPO: Final = Path(__file__).resolve().parent.parent
INFER: Final = REPO / "models" / "infer.py"
#: face.mjs name → models/infer.py name.
FACE_CONSTANTS: Final = {
    "DET": "DETECTOR_SIZE",
    "EXP": "EXPRESSION_SIZE",
    "MARGIN": "DEFAULT_MARGIN",
    "MIN_SCORE": "DEFAULT_MIN_SCORE",
    "NMS_IOU": "NMS_IOU",
    "CROP_DY": "CROP_DY",
    "CROP_W": "CROP_W",
    "CROP_H": "CROP_H",
    "EXPOSURE_TARGET": "EXPOSURE_TARGET",
    "EXPOSURE_MAX_GAIN": "EXPOSURE_MAX_GAIN",
    "CALIBRATION_EIGHTHS": "CALIBRATION_EIGHTHS",
}
_JS_CONST: Final = re.compile(r"^((?:export )?const (\w+) = )(-?[0-9.]+);", re.MULTILINE)
#: An event array the loader pushes: ``["code", now()`` / ``["code", t``, or the in/out pair.
_JS_EVENT: Final = re.compile(r'\["([a-z]+)", (?:now\(\)|t\b)')
_JS_IN_OUT: Final = re.compile(r'\? "([a-z]+)" : "([a-z]+)"')


def python_face_constants(source: str | None = None) -> dict[str, float]:
    """infer.py's values of :data:`FACE_CONSTANTS`, by their face.mjs names."""
    tree = ast.parse(source if source is not None else INFER.read_text())
    values: dict[str, float] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                if isinstance(value, int | float):
                    values[target.id] = float(value)
    return {js: values[py] for js, py in FACE_CONSTANTS.items()}


def _js_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def face_module(source: str, constants: dict[str, float] | None = None) -> str:
    """face.mjs with every shared constant set to Python's value."""
    values = constants if constants is not None else python_face_constants()

    def put(match: re.Match[str]) -> str:
        name = match.group(2)
        return (
            match.group(0) if name not in values else f"{match.group(1)}{_js_number(values[name])};"
        )

    return _JS_CONST.sub(put, source)


def face_disagreements(source: str, constants: dict[str, float] | None = None) -> list[str]:
    """Where face.mjs's literals differ from infer.py (or a shared constant is missing)."""
    values = constants if constants is not None else python_face_constants()
    found = {m.group(2): float(m.group(3)) for m in _JS_CONST.finditer(source)}
    return [
        f"face.mjs {js} = {found.get(js)} but models/infer.py {FACE_CONSTANTS[js]} = {value}"
        for js, value in values.items()
        if found.get(js) != value
    ]


def loader_event_codes(source: str) -> set[str]:
    """The event codes a loader source writes."""
    codes = set(_JS_EVENT.findall(source))
    for pair in _JS_IN_OUT.findall(source):
        codes.update(pair)
    return codes


def event_code_disagreements(source: str) -> list[str]:
    """Codes the loader writes that Python does not parse, and the other way round."""
    loader, python = loader_event_codes(source), set(EVENT_CODES)
    return [
        f"the loader writes {code!r}, client_py/events.py does not parse it"
        for code in sorted(loader - python)
    ] + [
        f"client_py/events.py parses {code!r}, the loader never writes it"
        for code in sorted(python - loader)
    ]
