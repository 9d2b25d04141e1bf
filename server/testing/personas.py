"""The personas as functions on a sync Playwright page: ``hesitant(page, url, seed=1)``.

Each runs the generic journey (server/testing/journeys.py) and returns what it ``Played`` (the
texts it typed, for ``assert_nothing_private``).
"""

from __future__ import annotations

import random

from playwright.sync_api import Page

from rapport.server.testing.drive import Played, play

__all__ = [
    "comparison_shopper",
    "hesitant",
    "irritated",
    "neutral",
    "researcher",
    "returning_with_problem",
    "urgent",
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
