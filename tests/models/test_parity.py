"""The committed ONNX models against their sources, on real images.

* BlazeFace: onnxruntime vs the original ``face_detection_short_range.tflite`` run by
  ``ai-edge-litert`` (from npm ``@mediapipe/face_detection``: ``cd models && npm ci``).
* FaceExpressionNet: onnxruntime vs the outputs of the TensorFlow rebuild stored at conversion
  time in ``models/reference/face_expression.json`` (running the source needs TensorFlow). The
  reference adds each dense block's residuals in face-api's own order; the ONNX accumulates them
  left to right (faster in onnxruntime), so the two differ by float rounding only.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from rapport.models import MANIFEST, REFERENCE_DIR
from rapport.models.infer import FaceAnalyzer, crop_box, crop_rect, detector_input

Labelled = list[tuple[str, np.ndarray, str]]

# measured on this machine (LiteRT uses XNNPACK kernels, ORT its own): regressors 1.2e-4
# (128-px units), logits 2.8e-4; the bounds leave room for other CPUs' kernels
BLAZEFACE_ATOL_REGRESSORS = 2e-3
BLAZEFACE_ATOL_LOGITS = 2e-3
# measured: ≤ 1e-6 (float rounding: conv order, residual sums accumulated left to right)
EXPRESSION_ATOL = 1e-5
# when a real crop's pixels differ from the reference's (another Pillow build), not the model
EXPRESSION_ATOL_OTHER_PIXELS = 0.05

TFLITE = "models/node_modules/@mediapipe/face_detection/face_detection_short_range.tflite"
INSTALL = "cd models && npm ci --ignore-scripts --no-audit --no-fund"


@pytest.fixture(scope="module")
def tflite():  # type: ignore[no-untyped-def]
    from pathlib import Path

    from ai_edge_litert.interpreter import Interpreter

    path = Path(__file__).resolve().parents[2] / TFLITE
    if not path.is_file():
        pytest.fail(f"{TFLITE} missing: run `{INSTALL}`", pytrace=False)
    want = json.loads(MANIFEST.read_text())["models"]["detector"]["source"]["sha256"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == want, "not the .tflite we converted"
    interp = Interpreter(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    return interp


def _run_tflite(interp, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    interp.set_tensor(interp.get_input_details()[0]["index"], tensor)
    interp.invoke()
    out = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
    return out["regressors"], out["classificators"]


def test_blazeface_matches_the_tflite_source(
    tflite, analyzer: FaceAnalyzer, labelled: Labelled, unlabelled: list[tuple[str, np.ndarray]]
) -> None:  # type: ignore[no-untyped-def]
    images = [(n, img) for n, img, _ in labelled] + unlabelled
    worst_r = worst_c = 0.0
    for name, rgb in images:
        tensor, *_ = detector_input(rgb)
        ref_r, ref_c = _run_tflite(tflite, tensor)
        got_r, got_c = analyzer.detector.run(["regressors", "classificators"], {"input": tensor})
        dr = float(np.abs(got_r - ref_r).max())
        dc = float(np.abs(got_c - ref_c).max())
        worst_r, worst_c = max(worst_r, dr), max(worst_c, dc)
        assert dr <= BLAZEFACE_ATOL_REGRESSORS, (name, dr)
        assert dc <= BLAZEFACE_ATOL_LOGITS, (name, dc)
        # same faces found
        assert (ref_c[0, :, 0] > 0).sum() == (got_c[0, :, 0] > 0).sum(), name
    print(f"BlazeFace max |ORT - LiteRT|: regressors {worst_r:.3g}, logits {worst_c:.3g}")


def test_expression_net_matches_the_reference_outputs(
    analyzer: FaceAnalyzer, labelled: Labelled
) -> None:
    from rapport.models.build import synthetic_inputs  # numpy only at import time

    ref = json.loads((REFERENCE_DIR / "face_expression.json").read_text())
    inputs = {f"synthetic-{i}": x for i, x in enumerate(synthetic_inputs())}
    for name, rgb, _ in labelled:
        (det, *_) = analyzer.detect(rgb)
        inputs[name] = crop_rect(rgb, crop_box(det.raw_box, analyzer.margin))
    assert set(inputs) == {c["name"] for c in ref["cases"]}
    worst = 0.0
    for case in ref["cases"]:
        x = inputs[case["name"]]
        digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
        got = analyzer.expression_probs(x[None])[0]
        diff = float(np.abs(got - np.asarray(case["probs"])).max())
        if digest != case["input_sha256"]:
            # same model, slightly different pixels (another Pillow/libjpeg decodes the JPEG or
            # resizes differently): only a loose check is meaningful
            assert not case["name"].startswith("synthetic"), "synthetic inputs changed"
            assert diff <= EXPRESSION_ATOL_OTHER_PIXELS, (case["name"], diff)
            continue
        worst = max(worst, diff)
        assert diff <= EXPRESSION_ATOL, (case["name"], diff)
    print(f"FaceExpressionNet max |ORT - TF reference|: {worst:.3g}")
