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

Names are imported on first use, so ``rapport`` (which imports the journeys' names) runs
without Playwright. The kit needs Playwright (``pip install 'rapport[testing]'``) and a
Chromium. docs/testing.md has the copy-paste examples.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rapport.server.testing.assertions import (
        HintNotReceived,
        captured_signals,
        expect_hint,
        expect_holdout,
        expect_shown,
        hints_received,
        sent_requests,
        watch,
    )
    from rapport.server.testing.drive import (
        Played,
        RapportNotReady,
        play,
        play_async,
    )
    from rapport.server.testing.holdout import (
        holdout_script,
    )
    from rapport.server.testing.journeys import (
        PERSONA_NAMES,
        MissingMarkup,
    )
    from rapport.server.testing.pages import (
        static_pages,
    )
    from rapport.server.testing.personas import (
        comparison_shopper,
        hesitant,
        irritated,
        neutral,
        researcher,
        returning_with_problem,
        urgent,
    )
    from rapport.server.testing.privacy import (
        assert_nothing_private,
    )
    from rapport.server.testing.server import (
        RapportServer,
        TestSite,
        rapport_server,
    )

_WHERE: dict[str, str] = {
    "HintNotReceived": "rapport.server.testing.assertions",
    "captured_signals": "rapport.server.testing.assertions",
    "expect_hint": "rapport.server.testing.assertions",
    "expect_holdout": "rapport.server.testing.assertions",
    "expect_shown": "rapport.server.testing.assertions",
    "hints_received": "rapport.server.testing.assertions",
    "sent_requests": "rapport.server.testing.assertions",
    "watch": "rapport.server.testing.assertions",
    "Played": "rapport.server.testing.drive",
    "RapportNotReady": "rapport.server.testing.drive",
    "play": "rapport.server.testing.drive",
    "play_async": "rapport.server.testing.drive",
    "holdout_script": "rapport.server.testing.holdout",
    "PERSONA_NAMES": "rapport.server.testing.journeys",
    "MissingMarkup": "rapport.server.testing.journeys",
    "static_pages": "rapport.server.testing.pages",
    "assert_nothing_private": "rapport.server.testing.privacy",
    "RapportServer": "rapport.server.testing.server",
    "TestSite": "rapport.server.testing.server",
    "rapport_server": "rapport.server.testing.server",
    "comparison_shopper": "rapport.server.testing.personas",
    "hesitant": "rapport.server.testing.personas",
    "irritated": "rapport.server.testing.personas",
    "neutral": "rapport.server.testing.personas",
    "researcher": "rapport.server.testing.personas",
    "returning_with_problem": "rapport.server.testing.personas",
    "urgent": "rapport.server.testing.personas",
}
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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rapport.server.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
