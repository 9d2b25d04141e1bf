"""A headless Chromium driven with DevTools' Network domain off, as a visitor's browser runs.

Why the memory figures need it: Playwright enables DevTools' Network domain on every page and
worker it drives, and that domain keeps a copy of each response body (up to 10 MB each) in the
renderer, for ``Network.getResponseBody``. Fetching Pyodide's 9.6 MB wasm alone leaves 12 MB there
that no visitor's browser holds (bench/README.md, "Memory without DevTools' copies"). This client
speaks the DevTools protocol over Chromium's pipe (``--remote-debugging-pipe``, as Playwright
does), attaches to the one page it opens and enables nothing but Page (for an init script). It
evaluates, scrolls and moves the mouse through Runtime and Input, which keep no bodies.

    with QuietChromium(CHROMIUM_FLAGS, profile) as browser:
        browser.open(url)
        browser.evaluate("rapport.ready")
        pss_mb(browser.pid)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from rapport.server.testing.browser import launch_options

__all__ = ["QuietChromium"]


def _above_9(fd: int) -> int:
    """``fd`` moved to a number above 9 (the original is closed: a write end left open here
    would keep the reply pipe from ever reaching end-of-file)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class QuietChromium:
    """One headless Chromium (a fresh profile on disk, as a visitor's) and one page in it."""

    def __init__(self, args: list[str], profile: Path, timeout_s: float = 60) -> None:
        executable = launch_options()["executable_path"]  # RAPPORT_CHROMIUM or the system's
        if not executable:
            raise RuntimeError("no system Chromium: set RAPPORT_CHROMIUM to a Chromium binary")
        self.timeout_s = timeout_s
        # Chromium reads commands on its fd 3 and writes replies on its fd 4 (NUL-separated JSON).
        # Ours are moved above 9 first, so the child's dup2 onto 3 and 4 overwrites neither.
        commands_r, commands_w = (_above_9(fd) for fd in os.pipe())
        replies_r, replies_w = (_above_9(fd) for fd in os.pipe())

        def child_fds() -> None:
            os.dup2(commands_r, 3)
            os.dup2(replies_w, 4)

        self.proc = subprocess.Popen(
            [
                executable,
                *args,
                "--headless",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1280,720",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (commands_r, replies_w):
            os.close(fd)
        self._out = os.fdopen(commands_w, "wb", buffering=0)
        self._in = os.fdopen(replies_r, "rb", buffering=0)
        self._replies: dict[int, dict[str, Any]] = {}
        self._arrived = threading.Condition()
        self._next = 0
        self._session: str | None = None
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        pending = b""
        while chunk := self._in.read(1 << 16):
            pending += chunk
            *messages, pending = pending.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:  # events are not asked for, and dropped
                    with self._arrived:
                        self._replies[message["id"]] = message
                        self._arrived.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, page: bool = True) -> Any:
        """One DevTools command (to the page's session unless ``page`` is False); its result."""
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if page and self._session:
            message["sessionId"] = self._session
        self._out.write(json.dumps(message).encode() + b"\0")
        with self._arrived:
            if not self._arrived.wait_for(lambda: ident in self._replies, self.timeout_s):
                raise TimeoutError(f"{method}: no reply in {self.timeout_s} s")
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def open(self, url: str, init_script: str | None = None) -> None:
        """Attach to the browser's first tab and load ``url`` in it (until ``load``)."""
        tabs = self.send("Target.getTargets", page=False)["targetInfos"]
        tab = next(t["targetId"] for t in tabs if t["type"] == "page")
        attached = self.send(
            "Target.attachToTarget", {"targetId": tab, "flatten": True}, page=False
        )
        self._session = attached["sessionId"]
        if init_script:
            self.send("Page.enable")
            self.send("Page.addScriptToEvaluateOnNewDocument", {"source": init_script})
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + self.timeout_s
        while not self._loaded(url):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: not loaded in {self.timeout_s} s")
            time.sleep(0.05)

    def _loaded(self, url: str) -> bool:
        try:
            return bool(
                self.evaluate(
                    f"location.href == {json.dumps(url)} && document.readyState == 'complete'"
                )
            )
        except RuntimeError:  # the old document's context went away mid-navigation: not yet
            return False

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (a promise is awaited)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def mouse(self, kind: str, x: float, y: float) -> None:
        """A trusted mouse event: ``mouseMoved``, ``mousePressed`` or ``mouseReleased``."""
        params: dict[str, Any] = {"type": kind, "x": x, "y": y}
        if kind != "mouseMoved":
            params |= {"button": "left", "clickCount": 1}
        self.send("Input.dispatchMouseEvent", params)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close", page=False)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self._in.close()

    def __enter__(self) -> QuietChromium:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
