"""How the kit launches Chromium: Debian's ``chromium`` where installed (``RAPPORT_CHROMIUM``
overrides it), else Playwright's own browser, with flags that work headless on CI machines.

The kit's fixtures, its persona runner and fake camera, the e2e suite and the benches all launch
with :func:`launch_options`, so a flag or an override is changed in one place.
"""

from __future__ import annotations

import os
import shutil
from typing import Final, TypedDict

__all__ = [
    "CHROMIUM_FLAGS",
    "DROP_SAVED_BOOT",
    "LaunchOptions",
    "chromium_executable",
    "launch_options",
]

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


#: A page's script that removes the worker's saved boot (Python's memory and its wasm, in the
#: origin's private file system, as an erase does), so the origin's next page starts Python
#: afresh: for a cold start without clearing the HTTP cache.
DROP_SAVED_BOOT: Final = """() => navigator.storage.getDirectory()
  .then((root) => root.removeEntry("rapport-boot", { recursive: true })).catch(() => {})"""


class LaunchOptions(TypedDict):
    """Keyword arguments of ``BrowserType.launch`` (sync and async Playwright alike)."""

    executable_path: str | None
    args: list[str]
    headless: bool


def chromium_executable() -> str | None:
    """Debian's chromium where installed; None lets Playwright use its own browser."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_options(*extra_args: str) -> LaunchOptions:
    """``playwright.chromium.launch(**launch_options())``: headless, ``RAPPORT_CHROMIUM`` or the
    system's Chromium, the kit's flags and ``extra_args`` (a fake camera's, say)."""
    return {
        "executable_path": os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
        "args": [*CHROMIUM_FLAGS, *extra_args],
        "headless": True,
    }
