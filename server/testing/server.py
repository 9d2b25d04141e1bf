"""A real Rapport server for a site owner's tests: ``rapport serve`` on a temporary SQLite file.

The process is the one production runs (same CLI, same storage code); sites are registered
through the CLI too. A site made for tests has no control group unless asked
(``holdout=0.0``), so every test visitor sees the page adapt; :mod:`server.testing.holdout`
puts a visitor in or out of the control group on purpose.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.server.config import default_sdk_dir

__all__ = [
    "RapportServer",
    "TestSite",
    "free_port",
    "rapport_cli",
    "rapport_server",
    "script_tag",
    "serve_process",
    "wait_until_serving",
]


def script_tag(endpoint: str, site_key: str) -> str:
    """The tag a page of the site carries (docs: "Add Rapport to your site")."""
    return f'<script src="{endpoint}/sdk/rapport.js" data-site="{site_key}" async></script>'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class TestSite:
    """A registered site: what the page's script tag needs (``site_key``) and its admin token."""

    __test__ = False  # not a pytest test class

    name: str
    site_key: str
    admin_token: str
    site_id: int
    origin: str
    holdout: float


@dataclass
class RapportServer:
    """A running server: ``endpoint`` (``http://127.0.0.1:PORT``), its ``database`` URL."""

    endpoint: str
    database: str
    log: Path
    sites: list[TestSite] = field(default_factory=list)

    @property
    def sdk(self) -> str:
        """Where the loader is: ``<script src="{sdk}/rapport.js" data-site="pk_…" async>``."""
        return self.endpoint + "/sdk"

    def tag(self, site: TestSite) -> str:
        """The script tag for ``site``'s pages."""
        return script_tag(self.endpoint, site.site_key)

    def cli(self, *args: str) -> str:
        """Run ``rapport ARGS --database <this server's>`` and return its output."""
        return rapport_cli(self.database, *args)

    def add_site(self, origin: str, *, holdout: float = 0.0, name: str | None = None) -> TestSite:
        """Register a site for ``origin`` (``http://localhost:8001``) with a ``holdout`` share."""
        name = name or f"Test site {uuid.uuid4().hex[:8]}"
        keys = json.loads(self.cli("site", "add", name, "--origin", origin, "--json"))
        [site_id] = [s["id"] for s in json.loads(self.cli("site", "list", "--json"))
                     if s["name"] == name]  # fmt: skip
        self.set_holdout(name, holdout)
        site = TestSite(name, keys["site_key"], keys["admin_token"], site_id, origin, holdout)
        self.sites.append(site)
        return site

    def set_holdout(self, name: str, share: float) -> None:
        """The site's control-group share (0–0.5): a playbook of the defaults with that share."""
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as toml:
            toml.write(f"version = 1\n\n[experiment]\nholdout = {share}\n")
        try:
            self.cli("site", "playbook", name, toml.name)
        finally:
            Path(toml.name).unlink()


def rapport_cli(database: str, *args: str) -> str:
    """Run ``rapport ARGS --database DATABASE`` as the CLI user would (a process of its own) and
    return its output; a ``RuntimeError`` with its stderr when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "rapport.server", *args, "--database", database],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"rapport {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/healthz", timeout=2) as answer:
            return int(answer.status) == 200
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, a 503
        return False


def serve_process(database: str, port: int, *options: str, **popen: Any) -> subprocess.Popen[Any]:
    """Start ``rapport serve --host 127.0.0.1 --port PORT --database DATABASE OPTIONS…`` as a
    process of its own (``popen``: ``subprocess.Popen``'s keywords, e.g. where its output goes).
    The kit's server, the suite's process tests and the benches start it this way."""
    command = [
        sys.executable, "-m", "rapport.server", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--database", database, *options,
    ]  # fmt: skip
    return subprocess.Popen(command, **popen)


def wait_until_serving(
    endpoint: str,
    process: subprocess.Popen[Any],
    *,
    timeout: float = 60.0,
    log: Path | None = None,
    ready: Callable[[], bool] | None = None,
) -> None:
    """Return once ``rapport serve`` (``process``) answers 200 on ``endpoint``/healthz and
    ``ready()`` (if given: all workers up, say) is true. If the process exits first or
    ``timeout`` seconds pass, it is killed and a ``RuntimeError`` carries the end of what it
    printed: ``log``, or its output when piped."""
    deadline = time.monotonic() + timeout
    while not (_healthy(endpoint) and (ready is None or ready())):
        if process.poll() is not None or time.monotonic() > deadline:
            state = "exited" if process.poll() is not None else f"not up after {timeout:.0f} s"
            process.kill()  # its workers follow it (PR_SET_PDEATHSIG)
            printed: str | bytes = process.communicate(timeout=60)[0] or ""
            if log is not None:
                printed = log.read_bytes()
            if isinstance(printed, bytes):
                printed = printed.decode(errors="replace")
            raise RuntimeError(f"rapport serve at {endpoint} {state}:\n{printed[-3000:]}")
        time.sleep(0.1)


@contextmanager
def rapport_server(
    workdir: Path, *, sdk_dir: Path | None = None, startup_timeout: float = 60.0
) -> Iterator[RapportServer]:
    """``rapport serve`` on a new SQLite file in ``workdir``, on a free loopback port."""
    sdk = sdk_dir or default_sdk_dir()
    if not (sdk / "manifest.json").exists():
        raise RuntimeError(f"no built SDK in {sdk}: run `rapport build-sdk` (or `make sdk`)")
    database = f"sqlite:///{workdir / 'rapport.db'}"
    port = free_port()
    log = workdir / "rapport-server.log"
    with log.open("wb") as log_file:
        process = serve_process(
            database, port, "--sdk-dir", str(sdk), stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_until_serving(endpoint, process, timeout=startup_timeout, log=log)
        yield RapportServer(endpoint, database, log)
    finally:
        process.terminate()
        process.wait(timeout=30)
