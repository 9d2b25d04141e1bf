"""``pip install .`` puts one top-level package, ``rapport``, and the ``rapport`` command into
an environment: nothing named ``server`` or ``models`` that could collide with a user's own.

The wheel is built from a copy of the checkout's files (a build writes ``build/`` beside its
sources) with this environment's setuptools, then installed into a fresh venv; no dependencies,
no network. Slow only in the sense of a few seconds of CPU to copy files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from rapport.server.config import REPO_ROOT


def _copy_checkout(to: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source, target = REPO_ROOT / name, to / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the files a build sees")
    work = tmp_path_factory.mktemp("wheel")
    _copy_checkout(work / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(work / "dist"), str(work / "src")],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    [built] = (work / "dist").glob("rapport-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_one_top_level_package_rapport(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "rapport"
    }
    for path in ("server/app.py", "client_py/schema.py", "models/infer.py",
                 "server/storage/migrations/script.py.mako", "demo_site/index.html",
                 "server/testing/sample_sites/tea_shop.py",
                 "server/testing/sample_sites/fjellstad/help.html",
                 "server/testing/sample_sites/fjellstad/fjell.js",
                 "server/testing/sample_sites/fjellstad/fjell.css",
                 "server/testing/sample_sites/fjellstad/partials/card.html"):  # fmt: skip
        assert f"rapport/{path}" in names, path


@pytest.mark.slow
def test_pip_install_puts_only_rapport_and_the_rapport_command_in_a_fresh_venv(
    wheel: Path, tmp_path: Path
) -> None:
    env = tmp_path / "venv"
    venv.create(env, with_pip=False)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
         "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    [site_packages] = (env / "lib").glob("python*/site-packages")
    top = {p.name for p in site_packages.iterdir() if not p.name.endswith((".dist-info", ".pth"))}
    assert top - {"__pycache__"} == {"rapport"}
    assert (env / "bin" / "rapport").is_file()
    entry_points = next(site_packages.glob("rapport-*.dist-info")) / "entry_points.txt"
    assert "rapport = rapport.server.cli:main" in entry_points.read_text()
