"""``asyncio`` as Rapport's Pyodide ships it: the name Pyodide's core imports, no event loop.

Pyodide's C core imports ``asyncio`` as Python starts (its JsProxy keeps ``get_event_loop``, to
await a JavaScript promise from Python), and ``pyodide.webloop`` imports it to install Pyodide's
browser event loop. The real package brings 52 modules with it (``concurrent.futures``,
``socket``, ``selectors``, ``subprocess``, ``logging``, ``threading``…): ≈ 0.74 MB of the
stdlib's 1.8 MB of .pyc, ≈ 50–120 ms of every first boot under Node, and their objects in
the saved boot (bench/README.md, sixteenth session). Rapport's worker calls Python synchronously
and awaits nothing in it, so the build ships this module in asyncio's place and
``webloop_stub.py`` in Pyodide's event loop's; the trimmed stdlib then holds none of asyncio's
own modules. Code that reaches for an event loop anyway gets an error that says why.

Runs inside Pyodide (Python 3.14) at its boot: it imports nothing.
"""

from __future__ import annotations

from typing import NoReturn

__all__ = ["get_event_loop"]

_ABSENT = (
    "Rapport's Pyodide bundle ships no asyncio: its worker awaits nothing in Python"
    " (see wasm_build/asyncio_stub.py)"
)


def get_event_loop() -> NoReturn:
    """Refuse: there is no event loop (Pyodide's core keeps this function, calls it only to
    await a JavaScript promise from Python)."""
    raise RuntimeError(_ABSENT)


def __getattr__(name: str) -> NoReturn:
    raise AttributeError(f"asyncio.{name}: {_ABSENT}")
