"""Exercise every code path the browser worker takes, so the build can see which stdlib modules run.

The build runs this inside Pyodide twice: once with the full stdlib to record which modules are
imported (the trimmed stdlib keeps exactly those plus ``EXTRA_MODULES``), and once with the
trimmed, precompiled stdlib to prove nothing is missing. It is plain Python, so it also runs in
CPython as a smoke test.
"""

from __future__ import annotations

import json

__all__ = ["EXTRA_MODULES", "LEFT_OUT", "import_extra_modules", "run"]

#: Modules that the flow may need only on rare paths (error formatting, Pyodide's own helpers).
EXTRA_MODULES = (
    "traceback",
    # Where the bundle's real ``traceback``, ``tokenize`` and ``textwrap`` ship
    # (``deferred_stub.py``, ``build._DEFERRED``); absent in CPython and in Pyodide as published.
    "_traceback_impl",
    "_tokenize_impl",
    "_textwrap_impl",
    "linecache",
    "tokenize",
    "token",
    "textwrap",
    "warnings",
    "weakref",
    "json",
    "json.decoder",
    "json.encoder",
    "json.scanner",
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.utf_8",
    "encodings.utf_8_sig",
    "encodings.aliases",
    "bisect",
    "struct",
    "dataclasses",
    "inspect",
)

#: Modules Pyodide's own boot imports that the worker never uses, and whose every importer on
#: that path guards the import (``try: import ssl except ImportError``, in asyncio; since its
#: stand-in, ``asyncio_stub.py``, nothing on that path imports them at all): left out of the
#: trimmed stdlib, each is simply absent. ``_ssl`` (Pyodide's stub,
#: 3 KB brotli) and ``compression._common`` are imported only by the modules left out here.
#: The build's second boot proves Pyodide and the flow still run without them.
LEFT_OUT = (
    "ssl",
    "_ssl",
    "bz2",
    "lzma",
    "compression.zstd",
    "compression._common",
    # Imported, since Pyodide's package loader left (package_loader_stub.py), only by ``ssl``.
    "pathlib",
    "glob",
    "fnmatch",
)


def import_extra_modules() -> None:
    """Import :data:`EXTRA_MODULES` (those this Python has), so the build keeps them and theirs."""
    import importlib

    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def run() -> dict[str, object]:
    """A hesitant visitor's session through the agent, plus the error paths the worker hits."""
    from client_py.agent import Agent

    config = json.dumps({"site": "pk_tracetrace", "key": "k" * 43, "session": "s" * 22})
    agent = Agent(config, None)
    hints = [{"id": "hesitant.reassure", "kind": "reassure", "pattern": "hesitant"}]
    sent: list[str] = []

    def step(message: object, now: float) -> None:
        """One message, then the server's answer to every batch it asked to send."""
        reply = json.loads(agent.handle(json.dumps(message), now))
        for item in reply["send"]:
            sent.append(item["batch"])
            body = {"batch": item["batch"], "accepted": 1, "duplicate": False, "hints": hints}
            result = {"t": "result", "batch": item["batch"], "status": 200, "body": body}
            agent.handle(json.dumps(result), now + 50)

    t = 1_700_000_000_000.0
    step({"t": "cfg", "c": {"patterns": {}, "rules": {}}}, t)
    events = [
        ["pv", t, "navigate"],
        ["ctx", t + 1, -60, 1280, 0, "cpc", "www.google.com"],
        ["in", t + 10, "price", "sku-1"],
        ["hov", t + 500, "price", "sku-1"],
        ["cp", t + 600, "specs", "sku-1"],
        ["fi", t + 700],
        ["txt", t + 800, "Где мой заказ?? Жду уже неделю!!! Where is my order, please?"],
        ["sb", t + 900],
        ["chg", t + 1000],
        ["act", t + 4_000],
        ["scr", t + 4_100, 0.5],
        ["clk", t + 4_200, 10, 20, "price", "sku-1"],
        ["out", t + 9_000, "price", "sku-1"],
        ["in", t + 9_000, "returns", "sku-1"],
        ["trk", t + 9_500, "view_item", 10, "EUR"],
        ["vis", t + 18_000, 0],
        ["bogus"],
    ]
    step({"t": "ev", "e": events}, t + 18_000)
    # The camera's path (after consent): analysed frames, one without a face, then revoked.
    probabilities = [0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05]
    for i in range(12):
        face = {"t": "face", "ts": t + 18_100 + 200 * i, "p": probabilities, "f": 0.9}
        step(face if i % 5 else {**face, "p": None, "f": 0.0}, t + 18_100 + 200 * i)
    step({"t": "cam", "on": False}, t + 21_000)
    step({"t": "tick"}, t + 30_000)
    failed = json.loads(agent.handle(json.dumps({"t": "tick"}), t + 40_000))
    for item in failed["send"]:
        agent.handle(json.dumps({"t": "result", "batch": item["batch"], "status": 0}), t + 40_050)
    step({"t": "flush"}, t + 41_000)
    agent.handle("not json", t + 41_000)
    restored = Agent(config, agent.state_json())
    try:
        raise ValueError("traceback formatting works")
    except ValueError:
        import traceback

        formatted = traceback.format_exc()
    return {
        "batches": len(sent),
        "hints": len(agent.hints),
        "restored_dwell": restored.features.dwell_seconds("price"),
        "traceback": "ValueError" in formatted,
    }


if __name__ == "__main__":
    print(json.dumps(run()))
