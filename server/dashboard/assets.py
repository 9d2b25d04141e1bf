"""The dashboard's built files (``wasm_build/dashboard/build.py``): content-hashed JS and CSS.

The page names them from ``manifest.json``, so a new build is picked up by the next page
load while the old files stay cacheable forever (``immutable``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import msgspec

from rapport.server.config import REPO_ROOT

__all__ = ["ASSET_NAME", "DashboardAssets", "default_assets_dir"]

#: Only ``dashboard.<12 hex>.js|css`` is ever served: no path from the URL reaches the disk.
ASSET_NAME: Final = re.compile(r"^dashboard\.[0-9a-f]{12}\.(js|css)$")


class _Manifest(msgspec.Struct, frozen=True):
    js: str
    css: str
    uplot: str


def default_assets_dir() -> Path:
    return REPO_ROOT / "wasm_build" / "dashboard" / "dist"


class DashboardAssets:
    """The built files in ``directory``; read the manifest again when it changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._manifest: _Manifest | None = None
        self._mtime = -1.0

    def manifest(self) -> tuple[str, str] | None:
        """``(js name, css name)``, or ``None`` when the dashboard was never built."""
        path = self.directory / "manifest.json"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        if mtime != self._mtime:
            self._manifest = msgspec.json.decode(path.read_bytes(), type=_Manifest)
            self._mtime = mtime
        assert self._manifest is not None
        return self._manifest.js, self._manifest.css

    def path(self, name: str) -> Path | None:
        """The file for an asset name from a URL, if it is one of ours and exists."""
        if ASSET_NAME.fullmatch(name) is None:
            return None
        path = self.directory / name
        return path if path.is_file() else None
