"""Rapport's testing kit: keep "a hesitant visitor on our product page sees the returns box" true
in a site's own CI (like ``litestar.testing`` for Litestar apps).

* persona drivers that work on any page marked with ``data-rapport-section`` /
  ``data-rapport-item`` / ``data-rapport-chat`` (:mod:`server.testing.journeys`), on a sync
  Playwright page (``play(page, "hesitant")`` or ``hesitant(page)``) or an async one
  (``play_async``), with seeded random timing;
* assertions: ``expect_hint``, ``expect_shown``, ``captured_signals``, ``assert_nothing_private``,
  ``expect_holdout``, and ``holdout_script`` to force a visitor in or out of the control group;
* pytest fixtures (:mod:`server.testing.plugin`, registered as the ``rapport`` pytest11 plugin):
  ``rapport_server``, ``rapport_site``, ``rapport_page``;
* the persona runner for many seeds in parallel contexts (:mod:`server.testing.runs`) and a fake
  camera (:mod:`server.testing.camera`).

It needs Playwright (``pip install 'rapport[testing]'``) and a Chromium. docs/testing.md has
the copy-paste examples.
"""

from __future__ import annotations

import random

from playwright.sync_api import Page

from server.testing.assertions import (
    HintNotReceived,
    captured_signals,
    expect_hint,
    expect_holdout,
    expect_shown,
    hints_received,
    sent_requests,
    watch,
)
from server.testing.drive import Played, RapportNotReady, play, play_async
from server.testing.holdout import holdout_script
from server.testing.journeys import PERSONA_NAMES, MissingMarkup
from server.testing.pages import static_pages
from server.testing.privacy import assert_nothing_private
from server.testing.server import RapportServer, TestSite, rapport_server

__all__ = [
    "PERSONA_NAMES",
    "HintNotReceived",
    "MissingMarkup",
    "Played",
    "RapportNotReady",
    "RapportServer",
    "TestSite",
    "assert_nothing_private",
    "captured_signals",
    "comparison_shopper",
    "expect_hint",
    "expect_holdout",
    "expect_shown",
    "hesitant",
    "hints_received",
    "holdout_script",
    "irritated",
    "neutral",
    "play",
    "play_async",
    "rapport_server",
    "researcher",
    "returning_with_problem",
    "sent_requests",
    "static_pages",
    "urgent",
    "watch",
]


def hesitant(page: Page, url: str | None = None, *, seed: int | random.Random = 0) -> Played:
    """Price, returns or warranty, back to the price; no purchase."""
    return play(page, "hesitant", url, seed=seed)


def urgent(page: Page, url: str | None = None, *, seed: int | random.Random = 0) -> Played:
    """Delivery, an urgent chat question, add to cart."""
    return play(page, "urgent", url, seed=seed)


def researcher(page: Page, url: str | None = None, *, seed: int | random.Random = 0) -> Played:
    """Long on specs and reviews, copies a value, asks a factual question."""
    return play(page, "researcher", url, seed=seed)


def returning_with_problem(
    page: Page, url: str | None = None, *, seed: int | random.Random = 0
) -> Played:
    """An earlier session, then back from an e-mail to the order status, "where is my order"."""
    return play(page, "returning_with_problem", url, seed=seed)


def irritated(page: Page, url: str | None = None, *, seed: int | random.Random = 0) -> Played:
    """Bursts of clicks that do nothing, an angry line in the chat."""
    return play(page, "irritated", url, seed=seed)


def comparison_shopper(
    page: Page, url: str | None = None, *, seed: int | random.Random = 0
) -> Played:
    """Prices and specs of several items, back to two of them."""
    return play(page, "comparison_shopper", url, seed=seed)


def neutral(page: Page, url: str | None = None, *, seed: int | random.Random = 0) -> Played:
    """Scrolls a little, glances at a section or two."""
    return play(page, "neutral", url, seed=seed)
