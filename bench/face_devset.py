"""The labelled faces that face-expression decisions are measured on: a dev and a held-out split.

    python -m bench.face_devset [--mirror DIR]     # writes bench/face_dev_split.csv, caches images

Source: the public repository muxspace/facial_expressions (≈ 13.7 k in-the-wild faces, mostly
Labeled Faces in the Wild, labels in ``data/legend.csv``), brought onto the machine with the
session's repository fetch as a bare git mirror. It has **no licence**: it is used only to
measure and to choose among pipelines and a handful of calibration constants. Nothing is trained
on it, no image of it is committed or shipped (``tests/models/test_no_dev_set_in_package.py``
checks the package, the wheel's sources and the SDK), and the images live only in the
git-ignored ``.cache/face_dev/images/``. The committed file list (image name, label, split) is
``bench/face_dev_split.csv``: enough to rebuild the same splits from the same mirror; each row
also has the image's git blob id (a fingerprint, not the image), by which the test finds a
dev-set file under any name.

Stratified: every face of the rare classes (angry, disgusted, fearful, sad, surprised) and a
random ``CAP`` of the neutral and of the happy ones (fixed seed); ``contempt`` (9 faces, no such
output) and images listed twice with different labels are dropped. Each class is then split
``HELD_OUT_SHARE`` held-out / the rest dev, with the same seed. The held-out split is looked at
once, at the end of a decision (``python -m bench.face_accuracy --dev --held-out``).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPLIT_FILE = Path(__file__).resolve().parent / "face_dev_split.csv"
CACHE = REPO / ".cache" / "face_dev"
IMAGES = CACHE / "images"
DEFAULT_MIRROR = Path(
    os.environ.get("RAPPORT_FACE_DEV_MIRROR", "/work/.mirror/muxspace+facial_expressions/repo")
)
SOURCE = "muxspace/facial_expressions"
SEED = 15
CAP = 300  # neutral and happy faces each, before the split
HELD_OUT_SHARE = 0.3
# legend.csv's spellings → our labels (models.EXPRESSION_LABELS)
LABELS = {
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgusted",
    "disgusted": "disgusted",
    "fear": "fearful",
    "fearful": "fearful",
    "happiness": "happy",
    "happy": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "sad": "sad",
    "surprise": "surprised",
    "surprised": "surprised",
}
CAPPED = ("neutral", "happy")


def _git(mirror: Path, *args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", "--git-dir", str(mirror), *args], input=stdin, check=True, capture_output=True
    ).stdout


def legend(mirror: Path) -> dict[str, str]:
    """image name → our label, from the mirror's data/legend.csv (ambiguous names dropped)."""
    text = _git(mirror, "show", "HEAD:data/legend.csv").decode("utf-8", "replace")
    seen: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(text.splitlines()):
        label = LABELS.get(row["emotion"].strip().lower())
        if label is not None:
            seen[row["image"].strip()].add(label)
        else:
            seen[row["image"].strip()].add("")  # contempt or unknown: drop the image
    return {
        name: labels.pop() for name, labels in seen.items() if len(labels) == 1 and "" not in labels
    }


def make_splits(labels: dict[str, str], present: set[str]) -> list[tuple[str, str, str]]:
    """[(image, label, "dev" | "held-out")], stratified, deterministic for a given input."""
    rng = random.Random(SEED)
    by_class: dict[str, list[str]] = defaultdict(list)
    for name in sorted(labels):
        if name in present:
            by_class[labels[name]].append(name)
    rows = []
    for label in sorted(by_class):
        names = by_class[label]
        rng.shuffle(names)
        if label in CAPPED:
            names = names[:CAP]
        held = round(len(names) * HELD_OUT_SHARE)
        rows += [(n, label, "held-out") for n in names[:held]]
        rows += [(n, label, "dev") for n in names[held:]]
    return sorted(rows)


def load_split(split: str) -> list[tuple[str, str]]:
    """[(image, label)] of one split, from the committed file list."""
    with SPLIT_FILE.open(newline="") as f:
        return [(r["image"], r["label"]) for r in csv.DictReader(f) if r["split"] == split]


def blob_ids() -> set[str]:
    """The git blob ids of every image of both splits."""
    with SPLIT_FILE.open(newline="") as f:
        return {r["blob"] for r in csv.DictReader(f)}


def image_path(name: str) -> Path:
    return IMAGES / name


def cache_images(mirror: Path, names: list[str]) -> int:
    """Write the listed images from the mirror into the git-ignored cache; returns how many."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    todo = [n for n in names if not image_path(n).is_file()]
    if not todo:
        return 0
    query = "".join(f"HEAD:images/{n}\n" for n in todo).encode()
    out = _git(mirror, "cat-file", "--batch", stdin=query)
    pos = 0
    for name in todo:
        end = out.index(b"\n", pos)
        header = out[pos:end].decode()
        if header.endswith("missing"):
            pos = end + 1
            continue
        size = int(header.split()[2])
        image_path(name).write_bytes(out[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return len(todo)


def ensure_cached(mirror: Path = DEFAULT_MIRROR) -> None:
    """Make sure every image of both splits is in the cache (from the mirror)."""
    names = [n for split in ("dev", "held-out") for n, _ in load_split(split)]
    missing = [n for n in names if not image_path(n).is_file()]
    if missing:
        if not mirror.is_dir():
            raise SystemExit(
                f"{len(missing)} dev-set images not cached and no mirror at {mirror}: fetch "
                f"{SOURCE} (set RAPPORT_FACE_DEV_MIRROR to its git directory)"
            )
        cache_images(mirror, missing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.face_devset")
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    args = parser.parse_args(argv)
    labels = legend(args.mirror)
    blobs = {}
    for line in _git(args.mirror, "ls-tree", "HEAD", "images/").decode().splitlines():
        meta, path = line.split("\t", 1)
        blobs[path.removeprefix("images/")] = meta.split()[2]
    rows = make_splits(labels, set(blobs))
    with SPLIT_FILE.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["image", "label", "split", "blob"])
        w.writerows((*row, blobs[row[0]]) for row in rows)
    cache_images(args.mirror, [n for n, _, _ in rows])
    counts = Counter((label, split) for _, label, split in rows)
    print(f"{SPLIT_FILE.name}: {len(rows)} images from {SOURCE} (seed {SEED}, cap {CAP})")
    for label in sorted({label for _, label, _ in rows}):
        print(
            f"  {label:10s} dev {counts[label, 'dev']:4d}  held-out {counts[label, 'held-out']:4d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
