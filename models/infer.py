"""Face detection + expression on still images with onnxruntime (no TensorFlow).

Pipeline, per image (the browser worker does the same steps, phase 2):

1. **Detect** with BlazeFace short-range (``blazeface_short_range.onnx``): letterbox the image
   to 128×128 (aspect kept, centred, zero padding), scale pixels to [-1, 1], run, decode the 896
   SSD anchors (MediaPipe's ``face_detection_short_range`` options: strides 8/16/16/16, two
   anchors per cell per layer, fixed anchor size), keep scores ≥ ``min_score`` (sigmoid of the
   logit), merge overlaps with MediaPipe's *weighted* NMS (IoU ≥ 0.3).
2. **Crop** a square around the box centre, side ``max(w, h) × (1 + margin)``, black outside
   the image, resized to 112×112 (Pillow bilinear, antialiased when shrinking).
3. **Classify** with face-api.js's FaceExpressionNet (``face_expression.onnx``; takes RGB 0–255
   float NHWC and does its own mean/255 normalisation and softmax inside the graph). Optional
   test-time horizontal flip: the mean of the crop and its mirror.

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

from models import DETECTOR_FILE, EMOTION_KEYS, EXPRESSION_FILE, EXPRESSION_LABELS, ONNX_DIR

__all__ = [
    "DEFAULT_MARGIN",
    "DETECTOR_SIZE",
    "EXPRESSION_SIZE",
    "Detection",
    "Face",
    "FaceAnalyzer",
    "ImageError",
    "anchors",
    "crop_face",
    "detector_input",
    "frontalness",
    "load_image",
    "result_json",
]

DETECTOR_SIZE = 128
EXPRESSION_SIZE = 112
DEFAULT_MARGIN = 0.1
DEFAULT_MIN_SCORE = 0.5
NMS_IOU = 0.3
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


class ImageError(ValueError):
    """The file is missing, unreadable or not an image."""


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in pixels of the original image
    score: float
    keypoints: tuple[tuple[float, float], ...]  # 6 points, pixels (see KEYPOINT_NAMES)

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


def detector_input(rgb: U8) -> tuple[F32, float, float, float]:
    """Letterbox to 128×128 in [-1, 1]; returns (tensor 1×128×128×3, scale, pad_x, pad_y)."""
    h, w = rgb.shape[:2]
    scale = DETECTOR_SIZE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), dtype=np.uint8)
    pad_x, pad_y = (DETECTOR_SIZE - nw) // 2, (DETECTOR_SIZE - nh) // 2
    canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
    tensor = (canvas.astype(np.float32) / 127.5 - 1.0)[None]
    return tensor, scale, float(pad_x), float(pad_y)


def _iou(a: F32, b: F32) -> F32:
    """IoU of one box a (x0, y0, x1, y1) against boxes b (n×4)."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-9), dtype=np.float32)


def decode(
    regressors: F32, logits: F32, min_score: float = DEFAULT_MIN_SCORE
) -> list[tuple[float, F32]]:
    """Raw outputs (896×16, 896) → [(score, 16 values in 128-px units: box xyxy + 6 keypoints)].

    Weighted NMS as in MediaPipe: overlapping candidates are averaged, weighted by score.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
    keep = np.nonzero(scores >= min_score)[0]
    if keep.size == 0:
        return []
    raw = regressors[keep].astype(np.float32)
    anc = _ANCHORS[keep] * DETECTOR_SIZE
    cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
    values = np.concatenate([boxes, kps.reshape(-1, 12)], axis=1).astype(np.float32)
    s = scores[keep].astype(np.float32)
    order = np.argsort(-s, kind="stable")
    values, s = values[order], s[order]
    out: list[tuple[float, F32]] = []
    remaining = np.arange(len(s))
    while remaining.size:
        first = remaining[0]
        ious = _iou(values[first, :4], values[remaining, :4])
        group = remaining[ious >= NMS_IOU]
        weights = s[group][:, None]
        merged = (values[group] * weights).sum(axis=0) / weights.sum()
        out.append((float(s[first]), merged.astype(np.float32)))
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


def crop_face(rgb: U8, box: tuple[float, float, float, float], margin: float) -> U8:
    """Square crop around the box centre, side max(w, h)·(1 + margin), resized to 112×112."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + margin)
    cx, cy = x + w / 2, y + h / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(1, round(side))
    crop = Image.fromarray(rgb).crop((left, top, left + size, top + size))
    crop = crop.resize((EXPRESSION_SIZE, EXPRESSION_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.uint8)


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
            out.append(Detection((x0, y0, x1 - x0, y1 - y0), score, kps))
        return out

    def expression_probs(self, crops: U8) -> F32:
        """N×112×112×3 uint8 crops → N×7 probabilities (EXPRESSION_LABELS order)."""
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
        crops = np.stack([crop_face(rgb, d.box, self.margin) for d in detections])
        probs = self.expression_probs(crops)
        return [
            Face(d, {label: float(p) for label, p in zip(EXPRESSION_LABELS, row, strict=True)})
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
