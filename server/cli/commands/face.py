"""``rapport face IMAGE…``: face detection + expression on still images, locally.

Runs the committed ONNX models (``models/onnx/``) with onnxruntime on the CPU, one thread — the
same models the browser worker runs. Nothing is sent anywhere. With ``--json`` it prints one
JSON object per image, one per line, in the order given::

    {"image": "a.jpg", "faces": [{"box": [x, y, w, h], "score": s, "frontal": f,
      "emotions": {"angry": p, "disgusted": p, "fearful": p, "happy": p,
                   "neutral": p, "sad": p, "surprised": p}}]}

``box`` is in pixels of the image (EXIF orientation applied), ``score`` the detector's
confidence, ``frontal`` 0–1 (1 = facing the camera). An unreadable image prints
``{"image": …, "error": …}`` (and the error on stderr), the other images are still processed,
and the exit code is 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

__all__ = ["face_command"]


@click.command("face")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per image, per line.")
@click.option(
    "--margin",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Enlarge the expression net's crop box by this fraction [default: 0].",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0.0, 1.0),
    default=0.5,
    show_default=True,
    help="Detector confidence threshold.",
)
@click.option("--flip", is_flag=True, help="Average with the mirrored face (test-time flip).")
def face_command(
    images: tuple[Path, ...], as_json: bool, margin: float | None, min_score: float, flip: bool
) -> None:
    """Detect faces and their expression (7 classes) in still images."""
    try:
        from rapport.models.infer import (
            DEFAULT_MARGIN,
            FaceAnalyzer,
            ImageError,
            load_image,
            result_json,
        )
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(
            f"face analysis needs numpy, onnxruntime and pillow ({exc.name} is missing)"
        ) from None
    try:
        analyzer = FaceAnalyzer(
            margin=DEFAULT_MARGIN if margin is None else margin, min_score=min_score, flip=flip
        )
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None

    failed = 0
    for path in images:
        try:
            rgb = load_image(path)
        except ImageError as exc:
            failed += 1
            click.echo(f"error: {exc}", err=True)
            if as_json:
                click.echo(json.dumps({"image": str(path), "error": str(exc)}))
            continue
        result: dict[str, Any] = {"image": str(path), **result_json(analyzer.analyze(rgb))}
        if as_json:
            click.echo(json.dumps(result))
            continue
        faces = result["faces"]
        click.echo(f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
        for i, f in enumerate(faces):
            emotions: dict[str, float] = f["emotions"]
            top = sorted(emotions.items(), key=lambda kv: -kv[1])[:3]
            shown = ", ".join(f"{k} {v:.2f}" for k, v in top)
            x, y, w, h = f["box"]
            click.echo(
                f"  #{i + 1} box {x:.0f},{y:.0f} {w:.0f}×{h:.0f}  score {f['score']:.2f}"
                f"  frontal {f['frontal']:.2f}  {shown}"
            )
    if failed:
        raise SystemExit(1)
