"""How the kit launches Chromium: Debian's ``chromium`` where installed (``RAPPORT_CHROMIUM``
overrides it), else Playwright's own browser, with flags that work headless on CI machines."""

from __future__ import annotations

import shutil
from typing import Final

__all__ = ["CHROMIUM_FLAGS", "chromium_executable"]

#: Flags that work for headless Chromium on these machines (no sandbox as root, no Google hosts).
CHROMIUM_FLAGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str | None:
    """Debian's chromium where installed; None lets Playwright use its own browser."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
