"""``make demo`` comes alive: simulated visitors browse the demo shop in the background.

The testing kit's persona drivers (``server.testing``) at the demo's pages (``demo_site.personas``)
run each persona once (two seeds: twelve visitors) in
headless Chromium, in a daemon thread with its own event loop, once the API answers. Without
Playwright or a Chromium (``make install-dev system-test``) it says so and does nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Callable

__all__ = ["seed_in_background", "simulate_visitors"]


def _wait(url: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def simulate_visitors(shop: str, api: str, seeds: list[int], parallel: int) -> int:
    """Run every persona once per seed against the shop, in headless Chromium, in a thread of
    its own (with its own event loop, so a caller's sync Playwright does not mind); returns
    how many visits ran. Raises what the visits raised."""
    from rapport.demo_site.personas import PERSONAS
    from rapport.server.testing.runs import chromium, run_personas

    async def simulate() -> int:
        async with chromium() as browser:
            return len(await run_personas(browser, shop, api, seeds, parallel, PERSONAS))

    outcome: list[int | BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(simulate()))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, name="simulated-visitors")
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def seed_in_background(
    shop: str, api: str, *, seeds: tuple[int, ...] = (1, 2), echo: Callable[[str], None] = print
) -> threading.Thread | None:
    """Start the simulated visitors; returns the thread, or ``None`` when they cannot run."""
    try:
        import playwright.async_api  # noqa: F401

        import rapport.server.testing.runs  # noqa: F401
    except ImportError as exc:
        echo(f"Simulated visitors: not started ({exc}; run `make install-dev system-test`)")
        return None

    def main() -> None:
        if not _wait(f"{api}/healthz"):
            echo("Simulated visitors: the API did not come up; not started")
            return
        try:
            visits = simulate_visitors(shop, api, list(seeds), parallel=2)
        except Exception as exc:  # a demo nicety must never take the demo down
            echo(f"Simulated visitors stopped: {exc}")
            return
        echo(f"Simulated visitors: {visits} visits done; reload the dashboard")

    thread = threading.Thread(target=main, name="demo-visitors", daemon=True)
    thread.start()
    echo(f"Simulated visitors: {6 * len(seeds)} persona visits start in the background")
    return thread
