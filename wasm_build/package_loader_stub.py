"""Pyodide's ``pyodide._package_loader`` as the bundle ships it: two directories, no installs.

Pyodide's boot imports its package loader, and the loader imports ``shutil``, ``tempfile``,
``zipfile``, ``pathlib``, ``glob`` and ``random`` to unpack packages: ≈ 300 KB of .pyc in the
stdlib's download, ≈ 0.7 MB of the warm-start snapshot and tens of ms of Python on every first
visit. Rapport installs no package. Its client wheel is imported from the zip itself: the
worker writes it to ``build.CLIENT_ZIP`` before Python starts (Pyodide's ``fsInit``) and puts
that path on ``PYTHONPATH``. So the build swaps this module in for Pyodide's.

What Pyodide's JavaScript reads of the loader (the build checks the glue names nothing else):
``SITE_PACKAGES`` and ``DSO_DIR`` (each through ``__str__``), ``init_loaded_packages`` at
boot, and ``get_install_dir`` / ``unpack_buffer`` for ``loadPackage`` and ``unpackArchive``,
which raise here with a message that says why.

Runs inside Pyodide (Python 3.14, the trimmed stdlib): it imports only what Pyodide's boot has
imported already.
"""

from __future__ import annotations

from site import getsitepackages
from typing import Any, NoReturn

try:  # as Pyodide's loader does: its memory snapshot expects this proxy to be held
    from pyodide_js import loadedPackages  # type: ignore[import-not-found]
except ImportError:
    loadedPackages = None

__all__ = [
    "DSO_DIR",
    "SITE_PACKAGES",
    "get_install_dir",
    "init_loaded_packages",
    "unpack_buffer",
]

_REFUSED = (
    "Rapport's Pyodide bundle installs no packages (its package loader is a stand-in, see "
    "wasm_build/package_loader_stub.py)"
)


class _Directory:
    """A path Pyodide's JavaScript reads with ``.__str__()`` (a ``str`` would arrive as a JS
    string, which has no such method)."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __str__(self) -> str:
        return self._path


SITE_PACKAGES = _Directory(getsitepackages()[0])  # as Pyodide's loader computes it
DSO_DIR = _Directory("/usr/lib")


def init_loaded_packages() -> None:
    """Nothing was installed by a package manager: nothing to record."""


def get_install_dir(target: str | None = None) -> NoReturn:
    """Refuse: there is no package to install."""
    raise RuntimeError(_REFUSED)


def unpack_buffer(*args: Any, **kwargs: Any) -> NoReturn:
    """Refuse: there is no archive to unpack."""
    raise RuntimeError(_REFUSED)
