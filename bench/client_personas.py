"""Persona accuracy: does the client's top-1 pattern name the visitor the simulator played?

    python -m bench.client_personas [--seeds 5] [--parallel 6] [--site demo|elsewhere]

Starts the real stack (``demo_site.stack``: `rapport serve` on a new SQLite file + the demo
shop), runs every persona of demo_site/personas.py once per seed in headless Chromium (own
context each, ``--parallel`` at a time), and reads each run's verdict from what the client
*sent*: the last score per pattern, top-1 = the highest, "neutral" when all are below 0.5.
Prints top-1 accuracy and a confusion table (rows: persona played, columns: top-1).

``--site elsewhere`` runs the personas of server/testing/sample_sites/fjellstad/ on Fjellstad
Outdoor, a site nobody tuned the patterns for, and scores what the server *answered*: per
persona, runs whose own hint came back (the passive visitor: no hint and neutral), the seconds
from the journey's start to that hint, and "came back with a problem" hints for first-time
visitors.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from rapport.demo_site.personas import PERSONAS
from rapport.demo_site.stack import running_stack
from rapport.server.testing.runs import PersonaRun, simulate
from rapport.server.testing.sample_sites import fjellstad as elsewhere


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per persona (seeds 1..N)")
    parser.add_argument("--parallel", type=int, default=6, help="browser contexts at a time")
    parser.add_argument("--verbose", action="store_true", help="print every run's scores")
    parser.add_argument(
        "--site", choices=("demo", "elsewhere"), default="demo", help="which site's journeys"
    )
    parser.add_argument("--only", default="", help="comma-separated personas (default: all)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    away = args.site == "elsewhere"
    scripts = elsewhere.PERSONAS if away else PERSONAS
    if args.only:
        scripts = {name: scripts[name] for name in args.only.split(",")}
    root = elsewhere.PAGES if away else None
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), root=root) as stack:
        runs = asyncio.run(
            simulate(stack.shop, stack.api, list(range(1, args.seeds + 1)), args.parallel, scripts)
        )
    elapsed = time.monotonic() - started
    if away:
        return report_elsewhere(runs, args.seeds, elapsed, verbose=args.verbose)
    labels = [*scripts]
    confusion = Counter((r.persona, r.predicted) for r in runs)
    right = sum(r.predicted == r.persona for r in runs)
    print(f"{len(runs)} runs ({args.seeds} seeds × {len(scripts)} personas) in {elapsed:.0f} s")
    print(f"top-1 accuracy: {right / len(runs):.1%} ({right}/{len(runs)})")
    started_runs = [r for r in runs if not _not_ready(r)]
    if len(started_runs) < len(runs):
        right_started = sum(r.predicted == r.persona for r in started_runs)
        lost = len(runs) - len(started_runs)
        print(f"  Rapport never ready (boot timeout, machine load) in {lost} runs;"
              f" top-1 where it was ready: {right_started}/{len(started_runs)}")  # fmt: skip
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
            print(f"  {r.persona:<24} seed {r.seed}: {r.predicted:<24} {top} {r.errors or ''}")
    return 0


def report_elsewhere(runs: list[PersonaRun], seeds: int, elapsed: float, *, verbose: bool) -> int:
    """The generalisation table of issue 17 (bench/README.md keeps the last one)."""
    print(f"{len(runs)} runs ({seeds} seeds × {len(runs) // seeds} personas) on "
          f"Fjellstad Outdoor (server/testing/sample_sites/fjellstad/), no control group, "
          f"in {elapsed:.0f} s, parallel browser contexts on this machine")  # fmt: skip
    print(f"\n{'persona':<24} {'own hint':>9} {'s to 1st hint (min/median/max)':>32}  top-1")
    for persona in sorted({r.persona for r in runs}, key=list(elsewhere.PERSONAS).index):
        mine = [r for r in runs if r.persona == persona]
        ok = sum(elsewhere.verdict(r) for r in mine)
        firsts = sorted(t for r in mine if (t := r.first_hint(persona)) is not None)
        shown = (
            f"{firsts[0]:.0f} / {firsts[len(firsts) // 2]:.0f} / {firsts[-1]:.0f}"
            if firsts
            else "—"
        )
        tops = Counter(r.predicted for r in mine)
        label = "neutral (no hint)" if persona == "passive" else "own hint"
        print(f"{persona:<24} {ok:>4}/{len(mine):<4} {shown:>32}  {dict(tops)}  [{label}]")
    first_timers = [r for r in runs if r.persona != "returning_with_problem"]
    wrong = sum(
        any(h.get("pattern") == "returning_with_problem" for _, h in r.hints) for r in first_timers
    )
    pattern_runs = [r for r in runs if r.persona != "passive"]
    right = sum(elsewhere.verdict(r) for r in pattern_runs)
    print(f"\nown hint: {right}/{len(pattern_runs)} ({right / len(pattern_runs):.0%}) of the "
          f"pattern personas' runs; returning_with_problem hints for first-time visitors: "
          f"{wrong}/{len(first_timers)}")  # fmt: skip
    print(f"schema-clean requests: {all(r.schema_clean for r in runs)}; "
          f"page errors: {sum(len(r.errors) for r in runs)}")  # fmt: skip
    not_ready = [r for r in pattern_runs if _not_ready(r)]
    if not_ready:
        right_ready = sum(elsewhere.verdict(r) for r in pattern_runs if not _not_ready(r))
        print(f"Rapport never ready (boot timeout, machine load) in {len(not_ready)} pattern runs "
              f"and {sum(map(_not_ready, runs)) - len(not_ready)} passive runs; own hint where it "
              f"was ready: {right_ready}/{len(pattern_runs) - len(not_ready)}")  # fmt: skip
    if verbose:
        for r in runs:
            top = sorted(r.scores.items(), key=lambda kv: -kv[1])[:3]
            hints = sorted({str(h.get("id")) for _, h in r.hints})
            print(f"  {r.persona:<24} seed {r.seed}: {top} hints {hints} {r.errors or ''}")
    return 0


def _not_ready(run: PersonaRun) -> bool:
    """The page never got Python ready (the loader gave up waiting): no verdict on patterns."""
    return any("did not get ready" in e for e in run.errors)


if __name__ == "__main__":
    raise SystemExit(main())
