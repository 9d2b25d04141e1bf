"""``pyodide.webloop`` as Rapport's Pyodide ships it: no event loop is installed.

Pyodide's ``pyodide/__init__.py`` imports ``_initialize_event_loop`` from here as Python
starts, and the real one imports asyncio and installs Pyodide's browser event loop. Rapport's
worker runs no coroutine, and the bundle ships no asyncio (``asyncio_stub.py`` says why), so
this stand-in installs nothing. The build checks that Pyodide imports nothing else from here.

Runs inside Pyodide (Python 3.14) at its boot: it imports only what that boot has imported.
"""

from __future__ import annotations

import contextlib

# As the real module does at import: Pyodide's memory snapshot expects this proxy (and the
# module it came from) to be held, in this order, and no page could save its boot without it.
with contextlib.suppress(ImportError):  # not in Pyodide
    from pyodide_js._api import scheduleCallback  # type: ignore[import-not-found]  # noqa: F401

__all__ = ["_initialize_event_loop"]


def _initialize_event_loop() -> None:
    """Nothing to install: the bundle has no asyncio to give a loop to."""
