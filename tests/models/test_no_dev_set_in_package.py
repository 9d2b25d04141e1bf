"""No image of the face dev set is in the repository, the Python package or the SDK.

The dev set (``bench/face_dev_split.csv``, from muxspace/facial_expressions) has no licence: it
may only be measured on, from the git-ignored ``.cache/``. Its committed file list carries each
image's git blob id, so a dev-set image is found here under any name, without the images.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import face_devset

REPO = Path(__file__).resolve().parents[2]
SDK_DIST = REPO / "wasm_build" / "dist"


def blob_id(data: bytes) -> str:
    """git's object id of a file's bytes (``git hash-object``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@pytest.fixture(scope="module")
def dev_set() -> tuple[set[str], set[str]]:
    """(blob ids, file names) of every image of both splits."""
    names = {n for split in ("dev", "held-out") for n, _ in face_devset.load_split(split)}
    assert len(names) > 1000
    return face_devset.blob_ids(), names


def _archive_members(path: Path) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                yield f"{path.name}!{info.filename}", zf.read(info)


def _offenders(files: Iterator[tuple[str, bytes]], dev: tuple[set[str], set[str]]) -> list[str]:
    blobs, names = dev
    out = []
    for name, data in files:
        if blob_id(data) in blobs or Path(name.split("!")[-1]).name in names:
            out.append(name)
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                inner = ((f"{name}!{i.filename}", zf.read(i)) for i in zf.infolist())
                out += _offenders(inner, dev)
    return out


def test_no_committed_file_is_a_dev_set_image(dev_set: tuple[set[str], set[str]]) -> None:
    listing = subprocess.run(
        ["git", "ls-files", "-s"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    blobs, names = dev_set
    tracked = [line.split("\t", 1) for line in listing.splitlines()]
    hits = [path for meta, path in tracked if meta.split()[1] in blobs or Path(path).name in names]
    assert hits == []


def test_the_python_wheel_holds_no_dev_set_image(
    dev_set: tuple[set[str], set[str]], tmp_path: Path
) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("rapport-*.whl")
    members = list(_archive_members(wheel))
    assert any(n.endswith("models/onnx/face_expression.onnx") for n, _ in members)
    assert _offenders(iter(members), dev_set) == []


def test_the_sdk_holds_no_dev_set_image(dev_set: tuple[set[str], set[str]]) -> None:
    if not (SDK_DIST / "manifest.json").is_file():
        pytest.fail("SDK not built: run `make sdk`", pytrace=False)
    files = (
        (str(p.relative_to(SDK_DIST)), p.read_bytes()) for p in SDK_DIST.rglob("*") if p.is_file()
    )
    assert _offenders(files, dev_set) == []
