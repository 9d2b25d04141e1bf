"""Fixtures for end-to-end tests: a real `rapport serve` on a real SQLite file, the demo shop on
another origin (``demo_site.stack``), and real headless Chromium (Debian's package where
installed, Playwright's own browser elsewhere; ``RAPPORT_CHROMIUM`` overrides).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from rapport.demo_site.stack import Stack, running_stack
from rapport.server.testing.browser import launch_options
from rapport.server.testing.recording import Recorder


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e")) as running:
        yield running


# Module scope, not session: sync Playwright keeps an asyncio loop running in this thread while it
# is open, and later (non-browser) tests that call asyncio.run() would fail.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(**launch_options())
    yield browser
    browser.close()


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
