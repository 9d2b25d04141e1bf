"""The committed ONNX files are the ones models/manifest.json describes."""

from __future__ import annotations

import hashlib
import json

import onnx

from rapport.models import EXPRESSION_LABELS, MANIFEST, MODELS_DIR, REFERENCE_DIR

DOC = json.loads(MANIFEST.read_text())


def test_files_match_the_manifest() -> None:
    for key, entry in DOC["models"].items():
        data = (MODELS_DIR / entry["file"]).read_bytes()
        assert len(data) == entry["bytes"], key
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], (
            f"{entry['file']} differs from models/manifest.json: rebuild (python -m models.build)"
        )


def test_manifest_records_sources_licences_inputs_and_labels() -> None:
    det, exp = DOC["models"]["detector"], DOC["models"]["expression"]
    assert det["source"]["package"] == "@mediapipe/face_detection"
    assert det["source"]["licence"] == "Apache-2.0"
    assert exp["source"] == exp["source"] | {"package": "@vladmandic/face-api", "version": "1.7.15"}
    assert exp["source"]["licence"] == "MIT"
    assert det["input"]["shape"] == [1, 128, 128, 3]
    assert exp["input"]["shape"] == ["N", 112, 112, 3]
    assert exp["labels"] == list(EXPRESSION_LABELS)
    assert DOC["converter"]["opset"] == 17
    ref = json.loads((REFERENCE_DIR / "face_expression.json").read_text())
    assert ref["labels"] == list(EXPRESSION_LABELS)


def test_models_are_small_and_quantized_as_documented() -> None:
    det = onnx.load(str(MODELS_DIR / DOC["models"]["detector"]["file"]))
    exp = onnx.load(str(MODELS_DIR / DOC["models"]["expression"]["file"]))
    assert DOC["models"]["detector"]["bytes"] < 240_000
    assert DOC["models"]["expression"]["bytes"] < 370_000
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in det.graph.initializer)
    ops = [n.op_type for n in exp.graph.node]
    assert ops.count("DequantizeLinear") == 31  # every conv weight, not the 256×7 classifier
    # residual sums accumulated left to right: 3 per dense block (face-api's order has 6), + bias
    assert ops.count("Add") == 4 * 3 + 1
    assert "MatMul" in ops or "Gemm" in ops
    for model in (det, exp):
        assert {o.domain: o.version for o in model.opset_import}[""] == 17
