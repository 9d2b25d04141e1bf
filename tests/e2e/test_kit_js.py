"""The testing kit's JavaScript module under @playwright/test (server/testing/js/): its example
spec — the one docs/testing.md shows a site owner — runs under Node against a page with markup
of its own (server/testing/sample_sites/tea_shop.py) on the kit's ``rapport_server``, Debian's
chromium as the browser."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rapport.server.testing import static_pages
from rapport.server.testing.browser import chromium_executable
from rapport.server.testing.sample_sites.tea_shop import TEA_SHOP
from rapport.server.testing.server import RapportServer, free_port
from tests.e2e.test_kit_plugin import docs_example

pytestmark = pytest.mark.e2e

KIT_JS = Path(__file__).resolve().parents[2] / "server" / "testing" / "js"
CLI = KIT_JS / "node_modules" / "@playwright" / "test" / "cli.js"


def test_the_docs_playwright_test_example_is_the_spec_that_runs() -> None:
    example = docs_example("## With @playwright/test", "js")
    assert example == (KIT_JS / "example.spec.mjs").read_text()
    assert len(example.splitlines()) <= 15


def test_the_example_spec_passes_under_node(rapport_server: RapportServer) -> None:
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `make test` (npm ci in server/testing/js)")
    port = free_port()
    site = rapport_server.add_site(f"http://localhost:{port}")
    env = {**os.environ, "RAPPORT_CHROMIUM": os.environ.get("RAPPORT_CHROMIUM") or
           chromium_executable() or ""}  # fmt: skip
    with static_pages(TEA_SHOP, rapport_server.tag(site), port=port) as origin:
        done = subprocess.run(
            ["node", str(CLI), "test", "--config", "playwright.config.mjs"],
            cwd=KIT_JS,
            env={**env, "RAPPORT_SHOP": origin},
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
