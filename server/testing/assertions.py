"""Assertions for a site owner's tests on a sync Playwright page (pytest, pytest-playwright).

``watch(page)`` starts recording what the page's browser context sends to Rapport and what the
server answers (the persona drivers call it; call it yourself before ``page.goto`` when you
drive the page by hand). Then:

* ``expect_hint(page, pattern="hesitant" | kind="reassure", within=30)`` waits for that hint and
  returns it; its failure message lists every hint received with its reasons, the client's
  last pattern scores and the holdout state — what a site owner needs to see why;
* ``expect_shown(locator)``: a ``data-rapport-show`` box became visible;
* ``captured_signals(page)``: the derived signals the page sent;
* ``expect_holdout(page, True)``: the server put this visitor in the control group.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Final

from playwright.sync_api import BrowserContext, Locator, Page, Request, Response

__all__ = [
    "HintNotReceived",
    "captured_signals",
    "expect_hint",
    "expect_holdout",
    "expect_shown",
    "hints_received",
    "sent_requests",
    "watch",
]

_ACTIVE_HINTS: Final = "() => window.rapport && window.rapport.hints ? window.rapport.hints() : []"
_HOLDOUT: Final = "() => window.rapport && window.rapport.holdout ? window.rapport.holdout() : null"


class HintNotReceived(AssertionError):
    """No hint matched in time (the message lists what did arrive, and why)."""


@dataclass
class _Watch:
    requests: list[Request] = field(default_factory=list)
    answers: list[Response] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    hints: dict[str, dict[str, Any]] = field(default_factory=dict)
    holdout: bool = False


_WATCHES: dict[int, _Watch] = {}


def _collect(url: str) -> bool:
    return url.split("?")[0].endswith("/v1/collect")


def watch(page: Page) -> None:
    """Record the requests of ``page``'s context and the server's answers (idempotent)."""
    context = page.context
    if id(context) in _WATCHES:
        return
    watched = _WATCHES[id(context)] = _Watch()

    def on_request(request: Request) -> None:
        watched.requests.append(request)
        if _collect(request.url) and request.method == "POST":
            watched.bodies.append(json.loads(request.post_data or "{}"))

    def on_response(response: Response) -> None:
        if _collect(response.url) and response.status == 200:
            watched.answers.append(response)

    def on_close(_: BrowserContext) -> None:
        _WATCHES.pop(id(context), None)

    context.on("request", on_request)
    context.on("response", on_response)
    context.on("close", on_close)


def _watched(page: Page) -> _Watch:
    watch(page)
    watched = _WATCHES[id(page.context)]
    while watched.answers:  # read the answers here, not in the event handler
        response = watched.answers.pop(0)
        try:
            body = response.json()
        except Exception:  # a body gone with its page says nothing
            continue
        watched.holdout = watched.holdout or bool(body.get("holdout"))
        for hint in body.get("hints") or []:
            watched.hints.setdefault(str(hint.get("id")), hint)
    return watched


def sent_requests(page: Page) -> list[Request]:
    """Every request of the page's context since :func:`watch` (for ``assert_nothing_private``)."""
    return list(_watched(page).requests)


def captured_signals(page: Page, kind: str | None = None) -> list[dict[str, Any]]:
    """The signals the page's context sent to ``/v1/collect`` (of ``kind``: pattern, evidence,
    dwell, affect, tone…), in the order sent."""
    return [
        s
        for body in _watched(page).bodies
        for s in body.get("signals", [])
        if kind is None or s.get("kind") == kind
    ]


def hints_received(page: Page) -> list[dict[str, Any]]:
    """Every distinct hint the server answered with, and the ones active in the page now."""
    watched = _watched(page)
    try:
        for hint in page.evaluate(_ACTIVE_HINTS) or []:
            watched.hints.setdefault(str(hint.get("id")), hint)
    except Exception:  # navigating: the next poll reads them
        pass
    return list(watched.hints.values())


def _matches(hint: dict[str, Any], pattern: str | None, kind: str | None) -> bool:
    return (pattern is None or hint.get("pattern") == pattern) and (
        kind is None or hint.get("kind") == kind
    )


def _describe(hint: dict[str, Any]) -> str:
    reasons = "; ".join(hint.get("reasons") or []) or "no reason given"
    return (
        f"{hint.get('kind')} for {hint.get('pattern')} (strength {hint.get('strength')}, "
        f"source {hint.get('source', 'behaviour')}): {reasons}"
    )


def _scores(page: Page) -> str:
    last: dict[str, float] = {}
    for signal in captured_signals(page, "pattern"):
        last[signal["name"]] = float(signal["score"])
    top = sorted(last.items(), key=lambda kv: -kv[1])[:5]
    return ", ".join(f"{name} {score:.2f}" for name, score in top) or "none sent"


def expect_hint(
    page: Page, *, pattern: str | None = None, kind: str | None = None, within: float = 30.0
) -> dict[str, Any]:
    """Wait up to ``within`` seconds for a hint with this ``pattern`` and/or ``kind``; return it."""
    if pattern is None and kind is None:
        raise ValueError("expect_hint needs pattern=… or kind=…")
    deadline = time.monotonic() + within
    while True:
        hints = hints_received(page)
        for hint in hints:
            if _matches(hint, pattern, kind):
                return hint
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    wanted = " and ".join(
        f"{name} {value!r}" for name, value in (("pattern", pattern), ("kind", kind)) if value
    )
    received = "\n".join(f"  - {_describe(h)}" for h in hints) or "  (none)"
    try:
        holdout = page.evaluate(_HOLDOUT)
    except Exception:
        holdout = None
    note = (
        "\nthis visitor is in the control group (holdout): the server computes hints but does "
        "not send them"
        if holdout or _WATCHES.get(id(page.context), _Watch()).holdout
        else ""
    )
    raise HintNotReceived(
        f"no hint with {wanted} within {within:g} s on {page.url}\n"
        f"hints received:\n{received}\n"
        f"the client's last pattern scores: {_scores(page)}{note}"
    )


def expect_shown(locator: Locator, *, within: float = 30.0) -> None:
    """The box (a ``data-rapport-show`` element) becomes visible within ``within`` seconds."""
    deadline = time.monotonic() + within
    while not locator.is_visible():
        if time.monotonic() > deadline:
            page = locator.page
            shows = locator.get_attribute("data-rapport-show") if locator.count() else None
            received = "\n".join(f"  - {_describe(h)}" for h in hints_received(page))
            raise AssertionError(
                f"{locator} (data-rapport-show={shows!r}) was not shown within {within:g} s\n"
                f"hints received:\n{received or '  (none)'}"
            )
        locator.page.wait_for_timeout(250)


def expect_holdout(page: Page, control: bool, *, within: float = 30.0) -> None:
    """``rapport.holdout()`` says ``control`` once the server answered a batch."""
    deadline = time.monotonic() + within
    while (state := page.evaluate(_HOLDOUT)) is None and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    if state is not control:
        raise AssertionError(f"rapport.holdout() is {state!r}, expected {control!r}")
