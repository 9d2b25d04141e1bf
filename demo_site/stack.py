"""Start the whole path for tests and benchmarks: `rapport serve` (a real process, a real SQLite
file) plus the demo shop on another origin, tied together by a freshly created site.

The end-to-end tests and the bench scripts share this so they measure exactly what they test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rapport.demo_site.server import ROOT, serve_demo
from rapport.server.testing.browser import CHROMIUM_FLAGS, chromium_executable
from rapport.server.testing.server import free_port

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


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _rapport(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "rapport.server", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return done.stdout


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
    if not (DIST / "manifest.json").exists():
        raise RuntimeError("the SDK is not built: run `make sdk`")
    database = f"sqlite:///{workdir / 'rapport.db'}"
    api_port, shop_port = free_port(), free_port()
    shop = f"http://localhost:{shop_port}"
    keys = json.loads(
        _rapport("site", "add", "Demo shop", "--origin", shop, "--json", "--database", database)
    )
    # Like `rapport demo`: no control group, so every test visitor can see the shop adapt.
    _rapport("site", "playbook", "Demo shop", str(PLAYBOOK), "--database", database)
    log = workdir / "server.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "rapport.server", "serve",
                "--host", "127.0.0.1", "--port", str(api_port),
                "--database", database, "--sdk-dir", str(DIST),
            ],
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    api = f"http://127.0.0.1:{api_port}"
    demo = None
    try:
        _wait_http(f"{api}/healthz")
        demo = serve_demo(
            "localhost",
            shop_port,
            f"{api}/sdk",
            keys["site_key"],
            omit_sdk=omit_sdk,
            root=root or ROOT,
        )
        yield Stack(api, shop, keys["site_key"], database, log, keys["admin_token"])
    finally:
        if demo is not None:
            demo.shutdown()
        server.terminate()
        server.wait(timeout=30)
