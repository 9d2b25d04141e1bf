"""The pytest plugin (entry point ``rapport`` in ``pytest11``): fixtures for a site owner's tests.

* ``rapport_server`` (session): a real ``rapport serve`` on a temporary SQLite file;
* ``rapport_site(origin, holdout=0.0)`` (factory): a site registered for the test's origin on
  that server — or, with ``--rapport-endpoint URL --rapport-site-key pk_…`` (or the
  ``RAPPORT_ENDPOINT`` / ``RAPPORT_SITE_KEY`` variables), the given endpoint and key;
* ``rapport_pages({path: html})`` (factory): serves pages on a new ``localhost`` origin with
  ``{{RAPPORT}}`` replaced by the script tag of a site registered for that origin;
* ``rapport_browser`` (module, on ``rapport_playwright``) and ``rapport_page``: headless
  Chromium as the kit launches it, for suites without pytest-playwright (whose ``page`` works
  with the kit too).

Playwright is imported only by the fixtures that need it, so installing the package never
breaks a suite that does not use the kit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

from rapport.server.testing.pages import static_pages
from rapport.server.testing.server import RapportServer, TestSite, free_port, script_tag
from rapport.server.testing.server import rapport_server as _start

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

__all__ = ["PagesFactory", "SiteFactory"]

SiteFactory = Callable[..., TestSite]
PagesFactory = Callable[..., str]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rapport", "Rapport testing kit")
    group.addoption(
        "--rapport-endpoint",
        default=os.environ.get("RAPPORT_ENDPOINT", ""),
        help="test against this Rapport server instead of a temporary one (with a site key)",
    )
    group.addoption(
        "--rapport-site-key",
        default=os.environ.get("RAPPORT_SITE_KEY", ""),
        help="the site key (pk_…) to use with --rapport-endpoint",
    )


@pytest.fixture(scope="session")
def rapport_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RapportServer]:
    """A real Rapport server on a temporary SQLite database (one per test session)."""
    with _start(tmp_path_factory.mktemp("rapport")) as server:
        yield server


@pytest.fixture
def rapport_site(request: pytest.FixtureRequest) -> SiteFactory:
    """``rapport_site(origin, holdout=0.0)``: a site for ``origin`` and its script tag's key."""
    endpoint = request.config.getoption("--rapport-endpoint")
    key = request.config.getoption("--rapport-site-key")
    if endpoint:
        if not key:
            raise pytest.UsageError("--rapport-endpoint needs --rapport-site-key pk_…")

        def given(origin: str, *, holdout: float = 0.0) -> TestSite:
            return TestSite("given", key, "", -1, origin, holdout)

        return given
    server: RapportServer = request.getfixturevalue("rapport_server")
    return server.add_site


@pytest.fixture
def rapport_endpoint(request: pytest.FixtureRequest) -> str:
    """The Rapport server the tests use: the given one, or the temporary ``rapport_server``."""
    endpoint: str = request.config.getoption("--rapport-endpoint")
    if endpoint:
        return endpoint.rstrip("/")
    server: RapportServer = request.getfixturevalue("rapport_server")
    return server.endpoint


@pytest.fixture
def rapport_pages(rapport_site: SiteFactory, rapport_endpoint: str) -> Iterator[PagesFactory]:
    """``rapport_pages({"/p.html": html}, holdout=0.0)`` → the origin serving them (until the
    test ends), ``{{RAPPORT}}`` in each page replaced by the tag of a site for that origin."""
    with ExitStack() as stack:

        def serve(pages: Mapping[str, str], *, holdout: float = 0.0) -> str:
            port = free_port()
            site = rapport_site(f"http://localhost:{port}", holdout=holdout)
            tag = script_tag(rapport_endpoint, site.site_key)
            return stack.enter_context(static_pages(pages, tag, port=port))

        yield serve


@pytest.fixture(scope="module")
def rapport_playwright() -> Iterator[Playwright]:
    """Sync Playwright for the module (the kit's browser and a suite's own launches share it)."""
    from playwright.sync_api import sync_playwright

    # Module scope, not session: sync Playwright keeps an asyncio loop running in this thread.
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def rapport_browser(rapport_playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium (Debian's where installed; ``RAPPORT_CHROMIUM`` overrides)."""
    from rapport.server.testing.browser import launch_options

    browser = rapport_playwright.chromium.launch(**launch_options())
    yield browser
    browser.close()


@pytest.fixture
def rapport_page(rapport_browser: Browser) -> Iterator[Page]:
    """A page in a fresh context (a new visitor), watched by the kit's assertions."""
    from rapport.server.testing.assertions import watch

    context = rapport_browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    watch(page)
    yield page
    context.close()
