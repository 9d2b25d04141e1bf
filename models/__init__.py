"""On-device face models: BlazeFace (detection) and face-api.js's expression net, as ONNX.

``models/onnx/*.onnx`` are rebuilt from registry packages by ``python -m models.build`` (in the
conversion venv, see ``models/README.md``); ``models/manifest.json`` records where each came from.
:mod:`models.infer` runs them with onnxruntime on still images (``rapport face``). Nothing here
needs TensorFlow at run time.
"""

from __future__ import annotations

from pathlib import Path

from rapport.client_py.affect import MODEL_ORDER
from rapport.client_py.schema import EXPRESSIONS

MODELS_DIR = Path(__file__).resolve().parent
ONNX_DIR = MODELS_DIR / "onnx"
MANIFEST = MODELS_DIR / "manifest.json"
REFERENCE_DIR = MODELS_DIR / "reference"

# face-api.js's output order (FACE_EXPRESSION_LABELS), defined once with the on-device logic;
# JSON output uses the schema's alphabetical list.
EXPRESSION_LABELS: tuple[str, ...] = MODEL_ORDER
EMOTION_KEYS: tuple[str, ...] = EXPRESSIONS

DETECTOR_FILE = "blazeface_short_range.onnx"
EXPRESSION_FILE = "face_expression.onnx"
