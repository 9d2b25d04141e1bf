"""Load a page in headless Chromium the way a new visitor would, and record what Rapport did.

Used by ``rapport check URL``. Playwright drives Debian's ``chromium`` where installed
(``RAPPORT_CHROMIUM`` overrides it), else Playwright's own browser; it is an optional extra
(``pip install 'rapport[check]'``) because a server needs no browser.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PageProbe", "ProbeError", "probe_page"]

#: Installed before any page script: when rapport.js ran (its script element's load event),
#: when rapport.ready settled, and the console lines; nothing is changed on the page.
_INIT_SCRIPT = """
window.__rapportCheck = {loaderRan: null, ready: null, readyAt: null, console: []};
document.addEventListener('load', function (e) {
  var s = e.target, c = window.__rapportCheck;
  if (!s || s.tagName != 'SCRIPT' || !/rapport\\.js/.test(s.src) || c.loaderRan !== null) return;
  c.loaderRan = performance.now();
  Promise.resolve(window.rapport && window.rapport.ready).then(function (ok) {
    c.ready = ok; c.readyAt = performance.now();
  });
}, true);
"""

_TAG_SCRIPT = """() => {
  const s = document.querySelector('script[src*="rapport.js"]')
    || document.querySelector('script[data-site]');
  if (!s) return null;
  const attrs = {};
  for (const a of s.attributes) attrs[a.name] = a.value;
  return {src: s.src, attrs};
}"""

_MARKUP_SCRIPT = """() => ({
  sections: [...document.querySelectorAll('[data-rapport-section]')].map(e => [
    e.getAttribute('data-rapport-section'), e.getAttribute('data-rapport-item')]),
  boxes: [...document.querySelectorAll('[data-rapport-show]')].map(e => ({
    show: e.getAttribute('data-rapport-show'), place: e.getAttribute('data-rapport-place'),
    id: e.id || e.tagName.toLowerCase()})),
})"""

FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


class ProbeError(Exception):
    """The page could not be loaded at all (the message says why)."""


@dataclass
class PageProbe:
    url: str
    status: int
    html: str
    csp: str | None
    tag: dict[str, Any] | None
    markup: dict[str, Any]
    ready: bool | None
    ready_ms: float | None
    """From the loader's run to ``rapport.ready`` settling, in the page's clock."""
    ready_after_navigation_ms: float | None
    console: list[str]
    page_errors: list[str]
    collect: list[dict[str, Any]] = field(default_factory=list)
    """Status and JSON body of each ``/v1/collect`` answer."""
    cold_bytes: int = 0
    warm_bytes: int = 0
    sdk_requests_warm: int = 0


def _browser_path() -> str | None:
    return (
        os.environ.get("RAPPORT_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def probe_page(url: str, *, wait_s: float = 40.0) -> PageProbe:
    """Load ``url`` twice in one fresh browser profile (cold, then warm HTTP cache)."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ProbeError(
            "rapport check needs Playwright: pip install 'rapport[check]' "
            "(and a Chromium: apt-get install chromium)"
        ) from exc
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=_browser_path(), args=FLAGS, headless=True)
        except PlaywrightError as exc:
            raise ProbeError(f"cannot start Chromium: {str(exc).splitlines()[0]}") from exc
        try:
            return _probe(browser, url, wait_s, PlaywrightError)
        finally:
            browser.close()


def _probe(browser: Any, url: str, wait_s: float, error: type[Exception]) -> PageProbe:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(_INIT_SCRIPT)
    page = context.new_page()
    console: list[str] = []
    errors: list[str] = []
    collect: list[dict[str, Any]] = []
    sdk_bytes: list[int] = [0]
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))

    def on_response(response: Any) -> None:
        if "/v1/collect" in response.url and response.request.method == "POST":
            try:
                body = response.json()
            except Exception:  # any unreadable answer is reported as such
                body = None
            collect.append({"status": response.status, "body": body})

    def on_finished(request: Any) -> None:
        if "/sdk/" in request.url or "/v1/" in request.url:
            sizes = request.sizes()
            sdk_bytes[0] += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    page.on("response", on_response)
    page.on("requestfinished", on_finished)
    try:
        response = page.goto(url, wait_until="load", timeout=30_000)
    except error as exc:
        raise ProbeError(f"cannot load {url}: {str(exc).splitlines()[0]}") from exc
    if response is None:
        raise ProbeError(f"cannot load {url}: no response")
    html = response.text()
    csp = response.headers.get("content-security-policy")
    tag = page.evaluate(_TAG_SCRIPT)
    markup = page.evaluate(_MARKUP_SCRIPT)
    ready: bool | None = None
    ready_ms = after_nav = None
    if tag is not None:
        with contextlib.suppress(error):
            page.wait_for_function(
                "() => window.__rapportCheck.ready !== null", timeout=wait_s * 1000
            )
        state = page.evaluate("() => window.__rapportCheck")
        ready = state["ready"]
        if state["readyAt"] is not None and state["loaderRan"] is not None:
            ready_ms = float(state["readyAt"] - state["loaderRan"])
            after_nav = float(state["readyAt"])
        if ready:
            # A little activity, then wait for the first batch's answer (the flush is 2 s).
            for i in range(6):
                page.mouse.move(200 + 20 * i, 300)
                page.mouse.wheel(0, 200)
                page.wait_for_timeout(500)
            deadline = 10
            while not collect and deadline:
                page.wait_for_timeout(500)
                deadline -= 1
    cold = sdk_bytes[0]
    sdk_bytes[0] = 0
    sdk_warm = [0]
    page.on("request", lambda r: sdk_warm.__setitem__(0, sdk_warm[0] + ("/sdk/" in r.url)))
    try:
        page.reload(wait_until="load", timeout=30_000)
        page.wait_for_function("() => window.__rapportCheck.ready !== null", timeout=wait_s * 1000)
    except error:
        pass
    warm = sdk_bytes[0]
    context.close()
    return PageProbe(
        url=url,
        status=response.status,
        html=html,
        csp=csp,
        tag=tag,
        markup=markup,
        ready=ready,
        ready_ms=ready_ms,
        ready_after_navigation_ms=after_nav,
        console=console,
        page_errors=errors,
        collect=collect,
        cold_bytes=cold,
        warm_bytes=warm,
        sdk_requests_warm=sdk_warm[0],
    )
