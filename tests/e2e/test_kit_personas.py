"""The testing kit's generic personas on a site with markup of its own
(server/testing/sample_sites/tea_shop.py: no demo class, id or wording), against the kit's own
``rapport_server``; and ``rapport personas``.

One seeded run per persona here; the 5-seed sweep on both this site and the demo shop, with
persona runs per minute, is ``python -m bench.kit_personas`` (bench/README.md).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rapport.demo_site.stack import Stack
from rapport.server.testing import static_pages
from rapport.server.testing.runs import PersonaRun, at, simulate
from rapport.server.testing.sample_sites.tea_shop import TEA_PAGES, TEA_SHOP
from rapport.server.testing.server import RapportServer, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tea_shop(rapport_server: RapportServer) -> Iterator[str]:
    port = free_port()
    site = rapport_server.add_site(f"http://localhost:{port}")
    with static_pages(TEA_SHOP, rapport_server.tag(site), port=port) as origin:
        yield origin


def _report(runs: list[PersonaRun]) -> dict[str, object]:
    return {r.persona: (r.predicted, r.scores, r.errors) for r in runs}


@pytest.mark.timeout(600)  # seven journeys of 15–40 s at once, three Pyodide boots at a time
@pytest.mark.usefixtures("personas_cli")  # the CLI's runs below go on during this one
def test_each_persona_gets_its_own_top_pattern_on_a_page_with_markup_of_its_own(
    tea_shop: str,
) -> None:
    scripts = {name: at(path, name) for name, path in TEA_PAGES.items()}
    runs = asyncio.run(
        simulate(tea_shop, None, [1], parallel=len(scripts), scripts=scripts, boots=3)
    )
    assert [r.persona for r in runs] == list(TEA_PAGES)
    for run in runs:
        assert run.bodies, (run.persona, _report(runs))
        assert run.errors == [] and run.privacy_problems == [], (run.persona, _report(runs))
    right = sum(r.predicted == r.persona for r in runs)
    assert right >= len(runs) - 1, _report(runs)


class Background:
    """A ``rapport personas`` run started now, read when a test needs its outcome."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rapport.server", "personas", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> subprocess.CompletedProcess[str]:
        out, err = self.process.communicate(timeout=600)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)


@pytest.fixture(scope="module")
def personas_cli(stack: Stack) -> Iterator[dict[str, Background]]:
    """Both ``rapport personas`` runs of this module, started together at its first test: their
    browsers and journeys overlap the tea shop's (a journey is mostly scripted waiting)."""
    with static_pages({"/": "<!doctype html><title>Plain</title><p>No tag here.</p>"}) as plain:
        demo = [f"{stack.shop}/product/aria-headphones.html", "--site", stack.site_key]
        expect = ["--personas", "hesitant", "--expect", "hesitant=reassure", "--json"]
        runs = {
            "demo": Background(*demo, *expect),
            "plain": Background(plain + "/", "--site", "pk_whatever", "--json"),
        }
        try:
            yield runs
        finally:
            for run in runs.values():
                run.process.kill()
                run.process.communicate()


def test_rapport_personas_reports_what_a_hesitant_visitor_got_on_the_demo_shop(
    stack: Stack, personas_cli: dict[str, Background]
) -> None:
    done = personas_cli["demo"].result()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    hesitant = report["personas"]["hesitant"]
    assert report["ok"] is True and report["api"] == stack.api
    assert {"kind": "reassure", "pattern": "hesitant"}.items() <= hesitant["hints"][0].items()
    assert hesitant["hints"][0]["reason"] and hesitant["hints"][0]["strength"] > 0
    assert any("hesitant" in box for box in hesitant["shown"])
    assert hesitant["first_hint_s"] > 0
    assert hesitant["private"] == "pass" and hesitant["requests_checked"] > 0
    assert hesitant["expect"] == {"want": "reassure", "runs_with_it": 1, "of": 1, "ok": True}
    assert "long_tasks" in hesitant
    assert "[1/1] hesitant seed 1: top hesitant" in done.stderr


def test_rapport_personas_says_a_page_has_no_rapport(personas_cli: dict[str, Background]) -> None:
    done = personas_cli["plain"].result()
    assert done.returncode == 2
    assert "has no Rapport script tag" in done.stderr and "data-site=" in done.stderr
    assert done.stdout == ""
