"""Bundle the dashboard's browser files: ``python -m wasm_build.dashboard.build``.

uPlot (pinned in ``package-lock.json``, installed by ``npm ci``) is concatenated with our
script into one ``dashboard.<hash>.js`` and with our styles into ``dashboard.<hash>.css``; the
hash is of the content, so the server can cache them forever and a new build changes the
names in ``manifest.json``. Nothing is fetched at run time and nothing comes from a CDN.

Why uPlot: maintained, MIT, ≈ 50 KB minified with no dependencies, draws on a canvas fast
enough for 30 daily points × dozens of series, and needs no ``eval`` or inline styles from
HTML (it styles through the CSSOM), so it runs under the dashboard's strict CSP.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UPLOT = ROOT / "node_modules" / "uplot"
SRC = ROOT / "src"
DIST = ROOT / "dist"


def _write_hashed(out: Path, stem: str, suffix: str, text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    name = f"{stem}.{digest}.{suffix}"
    (out / name).write_text(text, "utf-8")
    return name


def build_dashboard(out: Path = DIST) -> Path:
    """Write the bundle and ``manifest.json`` into ``out``; returns the manifest's path."""
    if not (UPLOT / "package.json").is_file():
        raise RuntimeError("uPlot is not installed: run `npm ci` in wasm_build/dashboard/")
    version = json.loads((UPLOT / "package.json").read_text("utf-8"))["version"]
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("dashboard.*"):
        old.unlink()
    js = (
        f"/* uPlot {version} (MIT) */\n"
        + (UPLOT / "dist" / "uPlot.iife.min.js").read_text("utf-8")
        + "\n"
        + (SRC / "dashboard.js").read_text("utf-8")
    )
    css = (
        (UPLOT / "dist" / "uPlot.min.css").read_text("utf-8")
        + "\n"
        + (SRC / "dashboard.css").read_text("utf-8")
    )
    manifest = {
        "js": _write_hashed(out, "dashboard", "js", js),
        "css": _write_hashed(out, "dashboard", "css", css),
        "uplot": version,
    }
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return path


if __name__ == "__main__":
    print(f"dashboard built: {build_dashboard(Path(sys.argv[1]) if len(sys.argv) > 1 else DIST)}")
