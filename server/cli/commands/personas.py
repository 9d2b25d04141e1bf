"""``rapport personas URL --site KEY``: scripted visitors try a live page's adaptations.

Each persona of the testing kit (``server.testing.journeys``: hesitant, urgent, researcher,
returning_with_problem, irritated, comparison_shopper, neutral) runs in headless Chromium as a
new visitor, once per seed, two at a time, and the command prints per persona: the hints
received (kind, pattern, strength, first reason), the boxes that became visible, the time to
the first hint, whether every request to Rapport was free of private data, and the host page's
long tasks. ``--expect hesitant=reassure`` (a hint kind or pattern) must hold in at least 80 %
of a persona's runs. Exit code 0 when every expectation held and nothing private left; 1 when
not; 2 when the page cannot be run (no Rapport on it, another site key, not ready).
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import click

from rapport.server.testing.journeys import PERSONA_NAMES

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from rapport.server.testing.runs import PersonaRun

__all__ = ["personas_command"]

#: Share of a persona's runs that must show the expected hint.
EXPECT_SHARE: Final = 0.8
_TAG: Final = """async () => {
  const s = document.querySelector('script[data-site]');
  return {site: s && s.getAttribute('data-site'), src: s && s.src,
          ready: window.rapport ? await window.rapport.ready : null};
}"""


class PageNotRunnable(Exception):
    """The page cannot be run at all (the message says why and what to fix)."""


@dataclass(frozen=True)
class Expectation:
    persona: str
    want: str


def _parse_expect(values: Sequence[str]) -> list[Expectation]:
    found = []
    for value in values:
        persona, _, want = value.partition("=")
        if persona not in PERSONA_NAMES or not want:
            raise click.BadParameter(
                f"{value!r}: write PERSONA=KIND_OR_PATTERN, e.g. hesitant=reassure "
                f"(personas: {', '.join(PERSONA_NAMES)})",
                param_hint="--expect",
            )
        found.append(Expectation(persona, want))
    return found


async def _preflight(browser: Browser, url: str, site_key: str) -> str:
    """The page has Rapport with this key and gets ready; returns the API origin."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        try:
            response = await page.goto(url)
        except Exception as error:
            raise PageNotRunnable(f"{url} could not be loaded: {error}") from None
        if response is not None and response.status >= 400:
            raise PageNotRunnable(f"{url} answered HTTP {response.status}")
        tag = await page.evaluate(_TAG)
        if not tag["site"]:
            raise PageNotRunnable(
                f'{url} has no Rapport script tag: add <script src="https://YOUR-API/sdk/'
                f'rapport.js" data-site="{site_key}" async></script> to its <head>'
            )
        if tag["site"] != site_key:
            raise PageNotRunnable(
                f"{url}'s script tag has data-site={tag['site']!r}, not {site_key!r}"
            )
        if tag["ready"] is not True:
            raise PageNotRunnable(
                f"Rapport did not get ready on {url}: run `rapport check {url} --site "
                f"{site_key}` for the reason and its fix"
            )
        src = str(tag["src"] or "")
        return src.split("/sdk/")[0] if "/sdk/" in src else ""
    finally:
        await context.close()


def _hint_line(hint: dict[str, Any]) -> dict[str, Any]:
    reasons = hint.get("reasons") or []
    return {
        "kind": hint.get("kind"),
        "pattern": hint.get("pattern"),
        "strength": hint.get("strength"),
        "reason": reasons[0] if reasons else "",
    }


def _summary(runs: list[PersonaRun], expect: Expectation | None) -> dict[str, Any]:
    hints: dict[tuple[Any, Any], dict[str, Any]] = {}
    for run in runs:
        for hint in run.distinct_hints():
            line = _hint_line(hint)
            key = (line["kind"], line["pattern"])
            if key not in hints or (line["strength"] or 0) > (hints[key]["strength"] or 0):
                hints[key] = line
    firsts = [t for r in runs if (t := r.first_hint()) is not None]
    problems = sorted({p for r in runs for p in r.privacy_problems})
    summary: dict[str, Any] = {
        "runs": [
            {
                "seed": r.seed,
                "top": r.predicted,
                "hints": [_hint_line(h) for h in r.distinct_hints()],
                "shown": r.shown,
                "first_hint_s": r.first_hint(),
                "errors": r.errors,
            }
            for r in runs
        ],
        "hints": list(hints.values()),
        "shown": sorted({s for r in runs for s in r.shown}),
        "first_hint_s": round(statistics.median(firsts), 1) if firsts else None,
        "private": "fail" if problems else "pass",
        "private_problems": problems[:10],
        "requests_checked": sum(len(r.requests) for r in runs),
        "long_tasks": {
            "count": sum(len(r.long_tasks_ms) for r in runs),
            "worst_ms": max((ms for r in runs for ms in r.long_tasks_ms), default=0),
        },
    }
    if expect is not None:
        got = sum(
            any(expect.want in (h.get("kind"), h.get("pattern")) for _, h in r.hints) for r in runs
        )
        need = math.ceil(EXPECT_SHARE * len(runs))
        summary["expect"] = {"want": expect.want, "runs_with_it": got, "of": len(runs),
                             "ok": got >= need}  # fmt: skip
    return summary


def _progress(done: list[int], total: int) -> Any:
    def line(run: PersonaRun) -> None:
        done[0] += 1
        first = run.first_hint()
        hints = len(run.distinct_hints())
        private = "fail" if run.privacy_problems else "ok"
        status = f"error: {run.errors[0]}" if run.errors else (
            f"top {run.predicted}, {hints} hint(s)"
            + (f", first after {first:.1f} s" if first is not None else "")
            + f", privacy {private}"
        )  # fmt: skip
        click.echo(f"[{done[0]}/{total}] {run.persona} seed {run.seed}: {status}", err=True)

    return line


async def _run_all(
    url: str, site_key: str, personas: list[str], seeds: int, parallel: int
) -> tuple[str, list[PersonaRun]]:
    from rapport.server.testing.runs import at, chromium, run_personas

    async with chromium() as browser:
        api = await _preflight(browser, url, site_key)
        scripts = {name: at(url, name) for name in personas}
        done = [0]
        runs = await run_personas(
            browser, url, api or None, list(range(1, seeds + 1)), parallel, scripts,
            personas, _progress(done, len(personas) * seeds),
        )  # fmt: skip
    return api, runs


def _print_text(report: dict[str, Any]) -> None:
    for name, persona in report["personas"].items():
        tops = ", ".join(r["top"] for r in persona["runs"])
        click.echo(f"{name}  (top pattern per run: {tops})")
        for hint in persona["hints"]:
            click.echo(
                f"  hint {hint['kind']} for {hint['pattern']} strength {hint['strength']}: "
                f"{hint['reason']}"
            )
        if not persona["hints"]:
            click.echo("  no hint")
        first = persona["first_hint_s"]
        click.echo(f"  boxes shown: {', '.join(persona['shown']) or 'none'}")
        click.echo(f"  first hint after: {f'{first} s' if first is not None else '–'}")
        click.echo(
            f"  private data in requests: {persona['private']} "
            f"({persona['requests_checked']} requests checked)"
        )
        for problem in persona["private_problems"]:
            click.echo(f"    {problem}")
        tasks = persona["long_tasks"]
        click.echo(f"  long tasks on the page: {tasks['count']} (worst {tasks['worst_ms']} ms)")
        for err in {e for r in persona["runs"] for e in r["errors"]}:
            click.echo(f"  error: {err}")
        if "expect" in persona:
            e = persona["expect"]
            verdict = "ok" if e["ok"] else "FAILED"
            click.echo(f"  expect {e['want']}: {e['runs_with_it']}/{e['of']} runs — {verdict}")


@click.command("personas")
@click.argument("url")
@click.option("--site", "site_key", required=True, help="The site key (pk_…) on the page's tag.")
@click.option(
    "--personas",
    "names",
    default=",".join(PERSONA_NAMES),
    show_default=True,
    help="Comma-separated personas to run.",
)
@click.option("--seeds", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Runs per persona (each seed is another visitor).")  # fmt: skip
@click.option("--parallel", type=click.IntRange(1, 8), default=2, show_default=True,
              help="Browser contexts at a time.")  # fmt: skip
@click.option(
    "--expect",
    "expects",
    multiple=True,
    metavar="PERSONA=KIND",
    help="A hint kind or pattern the persona must get (in ≥ 80 % of its runs); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def personas_command(
    url: str,
    site_key: str,
    names: str,
    seeds: int,
    parallel: int,
    expects: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run scripted visitors (personas) on URL and report what Rapport did for each."""
    personas = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in personas if n not in PERSONA_NAMES]
    if unknown or not personas:
        raise click.BadParameter(
            f"unknown persona(s) {', '.join(unknown) or '(none)'}: "
            f"one of {', '.join(PERSONA_NAMES)}",
            param_hint="--personas",
        )
    wanted = {e.persona: e for e in _parse_expect(expects)}
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "rapport personas needs Playwright: pip install 'rapport[testing]' (and Debian's "
            "chromium, or `playwright install chromium`)"
        ) from None
    try:
        api, runs = asyncio.run(_run_all(url, site_key, personas, seeds, parallel))
    except PageNotRunnable as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    report: dict[str, Any] = {"url": url, "site": site_key, "api": api, "seeds": seeds,
                              "personas": {}}  # fmt: skip
    for name in personas:
        mine = [r for r in runs if r.persona == name]
        report["personas"][name] = _summary(mine, wanted.get(name))
    failed = [
        name
        for name, p in report["personas"].items()
        if p["private"] == "fail" or not p.get("expect", {"ok": True})["ok"]
    ]
    report["ok"] = not failed
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print_text(report)
    if failed:
        if not as_json:
            click.echo(f"Failed: {', '.join(failed)}", err=True)
        sys.exit(1)
