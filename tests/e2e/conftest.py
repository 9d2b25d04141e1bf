"""Fixtures for end-to-end tests: a real `rapport serve` on a real SQLite file, the demo shop on
another origin (``demo_site.stack``), and real headless Chromium (Debian's package where
installed, Playwright's own browser elsewhere; ``RAPPORT_CHROMIUM`` overrides).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from rapport.demo_site.stack import Stack, running_stack
from rapport.server.testing.recording import Recorder


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


# The kit's fixtures (module scope: sync Playwright keeps an asyncio loop running in this thread
# while it is open, and later tests that call asyncio.run() would fail).
@pytest.fixture(scope="module")
def playwright(rapport_playwright: Playwright) -> Playwright:
    return rapport_playwright


@pytest.fixture(scope="module")
def browser(rapport_browser: Browser) -> Browser:
    return rapport_browser


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    yield context
    context.close()


@pytest.fixture
def recorder(context: BrowserContext) -> Recorder:
    recorder = Recorder()
    context.on("request", lambda request: recorder.requests.append(request))
    return recorder


@pytest.fixture
def page(context: BrowserContext, recorder: Recorder) -> Page:
    page = context.new_page()
    page.on("pageerror", lambda error: recorder.page_errors.append(str(error)))
    return page
