"""The persona simulator in the suite: one seeded run per persona, in parallel pages.

The client's own top-1 pattern (from what it sent) must name at least 5 of the 6 personas; the
full accuracy report over many seeds is bench/client_personas.py.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from playwright.async_api import async_playwright

from demo_site.stack import CHROMIUM_FLAGS, Stack, chromium_executable
from tests.e2e.personas import PERSONAS, PersonaRun, run_personas

pytestmark = pytest.mark.e2e


async def _simulate(stack: Stack, seed: int) -> list[PersonaRun]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            return await run_personas(browser, stack.shop, stack.api, [seed])
        finally:
            await browser.close()


def test_the_client_recognises_the_personas(stack: Stack) -> None:
    runs = asyncio.run(_simulate(stack, seed=1))
    assert [r.persona for r in runs] == list(PERSONAS)
    report = {r.persona: (r.predicted, r.scores) for r in runs}
    for run in runs:
        assert run.bodies, f"{run.persona}: nothing was sent"
        assert run.schema_clean
        assert run.errors == []
    right = sum(r.predicted == r.persona for r in runs)
    assert right >= 5, report
