"""Persona accuracy: does the client's top-1 pattern name the visitor the simulator played?

    python -m bench.client_personas [--seeds 5] [--parallel 6]

Starts the real stack (``demo_site.stack``: `rapport serve` on a new SQLite file + the demo
shop), runs every persona of tests/e2e/personas.py once per seed in headless Chromium (own
context each, ``--parallel`` at a time), and reads each run's verdict from what the client
*sent*: the last score per pattern, top-1 = the highest, "neutral" when all are below 0.5.
Prints top-1 accuracy and a confusion table (rows: persona played, columns: top-1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from playwright.async_api import async_playwright

from demo_site.stack import CHROMIUM_FLAGS, chromium_executable, running_stack
from tests.e2e.personas import PERSONAS, PersonaRun, run_personas


async def simulate(shop: str, api: str, seeds: list[int], parallel: int) -> list[PersonaRun]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=os.environ.get("RAPPORT_CHROMIUM") or chromium_executable(),
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            return await run_personas(browser, shop, api, seeds, parallel)
        finally:
            await browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per persona (seeds 1..N)")
    parser.add_argument("--parallel", type=int, default=6, help="browser contexts at a time")
    parser.add_argument("--verbose", action="store_true", help="print every run's scores")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        runs = asyncio.run(
            simulate(stack.shop, stack.api, list(range(1, args.seeds + 1)), args.parallel)
        )
    elapsed = time.monotonic() - started
    labels = [*PERSONAS]
    confusion = Counter((r.persona, r.predicted) for r in runs)
    right = sum(r.predicted == r.persona for r in runs)
    print(f"{len(runs)} runs ({args.seeds} seeds × {len(PERSONAS)} personas) in {elapsed:.0f} s")
    print(f"top-1 accuracy: {right / len(runs):.1%} ({right}/{len(runs)})")
    print(f"schema-clean requests: {all(r.schema_clean for r in runs)}; "
          f"page errors: {sum(len(r.errors) for r in runs)}")  # fmt: skip
    short = {name: name.replace("returning_with_problem", "returning")[:10] for name in labels}
    columns = [*labels, *sorted({r.predicted for r in runs} - set(labels))]
    print("\nconfusion (rows: persona played, columns: client's top-1)")
    print(" " * 11 + " ".join(f"{short.get(c, c[:10]):>10}" for c in columns))
    for persona in labels:
        cells = " ".join(f"{confusion[(persona, c)]:>10}" for c in columns)
        print(f"{short[persona]:<10} {cells}")
    if args.verbose:
        for r in runs:
            top = sorted(r.scores.items(), key=lambda kv: -kv[1])[:3]
            print(f"  {r.persona:<24} seed {r.seed}: {r.predicted:<24} {top}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
