"""Start the whole path for tests and benchmarks: `rapport serve` (a real process, a real SQLite
file) plus the demo shop on another origin, tied together by a freshly created site.

The end-to-end tests and the bench scripts share this so they measure exactly what they test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rapport.demo_site.server import ROOT, serve_demo
from rapport.server.testing.browser import CHROMIUM_FLAGS, chromium_executable
from rapport.server.testing.server import free_port, rapport_server

__all__ = [
    "CHROMIUM_FLAGS",
    "DIST",
    "PLAYBOOK",
    "REPO",
    "Stack",
    "chromium_executable",
    "free_port",
    "running_stack",
]

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "wasm_build" / "dist"
PLAYBOOK = Path(__file__).resolve().parent / "playbook.toml"


@dataclass(frozen=True)
class Stack:
    api: str
    shop: str
    site_key: str
    database: str
    log: Path
    admin_token: str = ""
    """The demo site's admin token (the dashboard's sign-in)."""


@contextmanager
def running_stack(
    workdir: Path, *, omit_sdk: bool = False, root: Path | None = None
) -> Iterator[Stack]:
    """A server on a new SQLite file in ``workdir`` and the shop, both on free loopback ports
    (``root``: another folder of pages served in the shop's place)."""
    shop_port = free_port()
    shop = f"http://localhost:{shop_port}"
    with rapport_server(workdir, sdk_dir=DIST) as server:
        keys = json.loads(server.cli("site", "add", "Demo shop", "--origin", shop, "--json"))
        # Like `rapport demo`: no control group, so every test visitor can see the shop adapt.
        server.cli("site", "playbook", "Demo shop", str(PLAYBOOK))
        demo = serve_demo(
            "localhost",
            shop_port,
            f"{server.endpoint}/sdk",
            keys["site_key"],
            omit_sdk=omit_sdk,
            root=root or ROOT,
        )
        try:
            yield Stack(server.endpoint, shop, keys["site_key"], server.database, server.log,
                        keys["admin_token"])  # fmt: skip
        finally:
            demo.shutdown()
