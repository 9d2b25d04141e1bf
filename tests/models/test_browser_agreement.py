"""The browser worker's pipeline (wasm_build/src/face.mjs) agrees with models/infer.py.

``tests/models/face_agreement.mjs`` runs face.mjs's canvas-free ``pipeline`` under Node with the
worker's onnxruntime-web WASM build (one thread, same session options) on the RGBA pixels that
infer.py gets as RGB. The resampler must be bit-identical (same float64 formulas in the same
order); the rest may differ only by ORT-web's WASM kernels vs native ORT's float rounding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rapport.models import EXPRESSION_LABELS
from rapport.models.infer import (
    CALIBRATION_EIGHTHS,
    FaceAnalyzer,
    calibrate,
    detector_input,
    expose,
    resample,
)
from rapport.server.testing.camera import _fit as fit
from rapport.server.testing.camera import astronaut_rgb

SCRIPT = Path(__file__).resolve().parent / "face_agreement.mjs"
REPO = Path(__file__).resolve().parents[2]
ORT_WEB = REPO / "wasm_build" / "node_modules" / "onnxruntime-web" / "dist" / "ort.wasm.min.mjs"

# measured: boxes ≤ 3e-4 px, probabilities ≤ 2e-5 (ORT-web WASM vs native kernels)
BOX_ATOL_PX = 0.01
PROB_ATOL = 1e-3


def _rgba(rgb: np.ndarray) -> bytes:
    h, w = rgb.shape[:2]
    rgba = np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(rgba).tobytes()


def _node(job: dict[str, Any], tmp: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found (Node 20 runs face.mjs)", pytrace=False)
    if not ORT_WEB.is_file():
        pytest.fail(f"{ORT_WEB} missing: run `cd wasm_build && npm ci`", pytrace=False)
    path = tmp / "job.json"
    path.write_text(json.dumps(job))
    done = subprocess.run(
        [node, str(SCRIPT), str(path)], check=True, capture_output=True, text=True, timeout=300
    )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


@pytest.fixture(scope="module")
def images(
    labelled: list[tuple[str, np.ndarray, str]], unlabelled: list[tuple[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    found = {name: rgb for name, rgb, _ in labelled}
    found.update(dict(unlabelled))
    # the frame the e2e camera test's fake camera plays (320×240, as the worker receives it)
    found["camera-frame-astronaut"] = fit(astronaut_rgb(), 320, 240)
    # the same frame in a dim room: the face crop goes through exposure compensation
    dim = (found["camera-frame-astronaut"].astype(np.float64) * 0.2).round().astype(np.uint8)
    found["camera-frame-astronaut-dim"] = dim
    return found


def test_resample_is_bit_identical() -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, size=(61, 83, 3), dtype=np.uint8)
    cases = {
        # letterbox-like downscale, upscale with a fractional offset, a crop with a valid box
        "down": ((40, 40), (83 / 40, 83 / 40, 0.0, -11.3), (0, 0, 83, 61), 1 / 127.5, -1.0),
        "up": ((112, 112), (0.37, 0.41, 17.25, -3.5), (0, 0, 83, 61), 1.0, 0.0),
        "crop": ((50, 50), (1.13, 1.13, 9.7, 4.2), (14, 6, 60, 58), 1.0, 0.0),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "r.rgba").write_bytes(_rgba(rgb))
        job = {
            "resample": [
                {
                    "name": name,
                    "width": 83,
                    "height": 61,
                    "rgba": str(tmp / "r.rgba"),
                    "out": list(size),
                    "map": list(mapping),
                    "valid": list(valid),
                    "mul": mul,
                    "add": add,
                }
                for name, (size, mapping, valid, mul, add) in cases.items()
            ]
        }
        got = _node(job, tmp)["resample"]
    for name, (size, mapping, valid, mul, add) in cases.items():
        want = (resample(rgb, size[0], size[1], *mapping, valid) * mul + add).astype(np.float32)
        js = np.asarray(got[name], dtype=np.float32).reshape(want.shape)
        assert np.array_equal(js, want), (name, float(np.abs(js - want).max()))


def test_exposure_is_bit_identical() -> None:
    rng = np.random.default_rng(7)
    cases = {
        "dark": rng.uniform(0, 40, size=(112, 112, 3)),
        "very dark, clipped": np.concatenate([rng.uniform(0, 3, 37000), [200.0] * 632]),
        "black": np.zeros(300),
        "bright (untouched)": rng.uniform(60, 255, size=(112, 112, 3)),
    }
    crops = {name: np.asarray(v, np.float32) for name, v in cases.items()}
    with tempfile.TemporaryDirectory() as tmp_name:
        job = {"expose": [{"name": n, "values": c.ravel().tolist()} for n, c in crops.items()]}
        got = _node(job, Path(tmp_name))["expose"]
    for name, crop in crops.items():
        want = expose(crop)
        js = np.asarray(got[name], dtype=np.float32).reshape(want.shape)
        assert np.array_equal(js, want), (name, float(np.abs(js - want).max()))
    assert np.array_equal(expose(crops["bright (untouched)"]), crops["bright (untouched)"])
    assert float(expose(crops["dark"]).mean()) == pytest.approx(80, abs=0.5)
    assert float(expose(crops["very dark, clipped"]).max()) == 255


def test_calibration_is_bit_identical() -> None:
    """The temperature step gives the same float64 probabilities in face.mjs as in infer.py, for
    every exponent it allows and for net outputs from confident to flat (float32, as ORT gives)."""
    rng = np.random.default_rng(11)
    logits = rng.normal(0, 4, size=(6, 7))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cases = {f"softmax {i}": row.astype(np.float32) for i, row in enumerate(probs)}
    cases["one-hot with underflow"] = np.array([1, 0, 0, 0, 0, 0, 1e-30], np.float32)
    jobs = [
        {"name": f"{name} @ {e}/8", "values": [float(v) for v in p], "eighths": e}
        for name, p in cases.items()
        for e in range(1, 17)
    ]
    with tempfile.TemporaryDirectory() as tmp_name:
        done = _node({"calibrate": jobs}, Path(tmp_name))
    got = done["calibrate"]
    assert done["eighths"] == CALIBRATION_EIGHTHS  # the same temperature on both sides
    for job in jobs:
        assert got[job["name"]] == calibrate(job["values"], job["eighths"]), job["name"]
    assert calibrate(list(cases["softmax 0"]), 8) == pytest.approx(cases["softmax 0"], abs=1e-7)
    assert 1 <= CALIBRATION_EIGHTHS <= 16


def test_detector_input_matches_resample() -> None:
    """detector_input is the letterbox resample that face.mjs writes (formula shared above)."""
    rgb = fit(astronaut_rgb(), 320, 240)
    tensor, scale, pad_x, pad_y = detector_input(rgb)
    assert tensor.shape == (1, 128, 128, 3)
    assert scale == pytest.approx(0.4) and pad_x == 0 and pad_y == pytest.approx(16)
    assert tensor[0, :15].max() == -1 and tensor[0, 113:].max() == -1  # black letterbox bands


def test_browser_pipeline_agrees_with_infer(
    analyzer: FaceAnalyzer, images: dict[str, np.ndarray]
) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        entries = []
        for i, (name, rgb) in enumerate(images.items()):
            (tmp / f"{i}.rgba").write_bytes(_rgba(rgb))
            h, w = rgb.shape[:2]
            entries.append({"name": name, "width": w, "height": h, "rgba": str(tmp / f"{i}.rgba")})
        got = _node({"images": entries}, tmp)["results"]
    worst_box = worst_p = 0.0
    for name, rgb in images.items():
        faces = analyzer.analyze(rgb)
        js = got[name]
        if not faces:
            assert js["p"] is None, name
            continue
        face = faces[0]  # the worker keeps the highest-scoring face, like analyze()'s first
        assert js["p"] is not None, name
        d_box = float(np.abs(np.subtract(js["raw"], face.detection.raw_box)).max())
        d_box = max(d_box, float(np.abs(np.subtract(js["box"], face.detection.box)).max()))
        probs = np.array([face.emotions[k] for k in EXPRESSION_LABELS])
        d_p = float(np.abs(np.asarray(js["p"]) - probs).max())
        worst_box, worst_p = max(worst_box, d_box), max(worst_p, d_p)
        assert d_box <= BOX_ATOL_PX, (name, d_box)
        assert d_p <= PROB_ATOL, (name, d_p)
        assert int(np.argmax(js["p"])) == int(np.argmax(probs)), name
        assert js["score"] == pytest.approx(face.detection.score, abs=1e-4), name
        assert js["f"] == pytest.approx(face.detection.frontal, abs=1e-3), name
    print(f"face.mjs vs infer.py: max |Δbox| {worst_box:.3g} px, max |Δp| {worst_p:.3g}")
