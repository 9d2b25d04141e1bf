"""The testing kit as a site owner uses it: the pytest plugin's fixtures in a suite of their own
(pytester, in a subprocess), docs/testing.md's example run as written, the message of a hint
that did not come, and the holdout control."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from rapport.server.testing import expect_holdout, holdout_script, static_pages
from rapport.server.testing.sample_sites.tea_shop import LEAF
from rapport.server.testing.server import RapportServer, free_port

pytestmark = pytest.mark.e2e
pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

MISSING = """
from pathlib import Path

from rapport.server.testing import expect_hint, hesitant

PAGES = {"/product.html": Path(__file__).with_name("product.html").read_text()}


def test_a_hesitant_visitor_is_offered_a_human(rapport_pages, rapport_page):
    shop = rapport_pages(PAGES)
    hesitant(rapport_page, shop + "/product.html", seed=1)
    expect_hint(rapport_page, kind="escalate_to_human", within=5)
"""


def docs_example(heading: str, language: str) -> str:
    """The first ``language`` code block after ``heading`` in docs/testing.md."""
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    match = re.search(rf"```{language}\n(.*?)```", after, re.S)
    assert match, f"no {language} block after {heading!r}"
    return match.group(1)


def _pytest_started(pytester: pytest.Pytester, test_file: str) -> subprocess.Popen[str]:
    """A site owner's pytest run of one file, started now: each run has its own Rapport server
    and browser, so the two files' journeys go on at the same time."""
    basetemp = f"--basetemp={pytester.path / ('tmp-' + test_file)}"
    run: subprocess.Popen[str] = pytester.popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", basetemp, test_file],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,  # pytester's default closes a pipe that communicate() flushes
        text=True,
    )
    return run


def _finished(run: subprocess.Popen[str]) -> pytest.RunResult:
    started = time.monotonic()
    out, err = run.communicate(timeout=900)
    took = time.monotonic() - started
    return pytest.RunResult(run.returncode, out.splitlines(), err.splitlines(), took)


def test_the_docs_example_passes_and_a_missing_hint_lists_the_hints_and_reasons(
    pytester: pytest.Pytester,
) -> None:
    example = docs_example("## In a pytest suite", "python")
    assert len(example.strip().splitlines()) <= 16
    pytester.makepyfile(test_adapts=example, test_missing=MISSING)
    (pytester.path / "product.html").write_text(LEAF)
    runs = [_pytest_started(pytester, name) for name in ("test_adapts.py", "test_missing.py")]
    adapts, missing = (_finished(run) for run in runs)
    adapts.assert_outcomes(passed=1)
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(
        [
            "*HintNotReceived: no hint with kind 'escalate_to_human' within 5 s on http*",
            "*hints received:*",
            "*- reassure for hesitant (strength *, source behaviour): *",
            "*the client's last pattern scores: hesitant *",
        ]
    )


def test_a_visitor_is_put_in_or_out_of_the_control_group(
    rapport_server: RapportServer, rapport_browser: Browser
) -> None:
    port = free_port()
    site = rapport_server.add_site(f"http://localhost:{port}", holdout=0.5)
    with static_pages({"/leaf.html": LEAF}, rapport_server.tag(site), port=port) as origin:
        for control in (True, False):
            context = rapport_browser.new_context()
            try:
                context.add_init_script(holdout_script(site, control=control))
                page = context.new_page()
                page.goto(origin + "/leaf.html")
                page.evaluate("() => window.rapport.ready")
                page.mouse.move(300, 300)
                page.mouse.wheel(0, 400)
                expect_holdout(page, control, within=60)
            finally:
                context.close()
