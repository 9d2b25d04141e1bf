"""The dashboard's two HTML pages. No inline script or style: the CSP allows only our files."""

from __future__ import annotations

from html import escape
from typing import Final

__all__ = ["CSP", "dashboard_page", "missing_assets_page", "sign_in_page"]

#: Strict: our own hashed script and stylesheet, fetches to ourselves, nothing inline.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _head(title: str, css: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="/dashboard/assets/{escape(css)}"></head>'
    )


def sign_in_page(css: str, js: str, error: str = "") -> str:
    """The sign-in form (the admin token, typed once, becomes a session cookie)."""
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        _head("Rapport dashboard — sign in", css)
        + '<body class="sign-in"><main><h1>Rapport dashboard</h1>'
        '<form method="post" action="/dashboard/sign-in">'
        '<label for="token">Your site\'s admin token (sk_…)</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        'required spellcheck="false">'
        '<button type="submit">Sign in</button></form>'
        f"{alert}"
        "<p>No token at hand? On the server, <code>rapport site login NAME</code> prints a "
        "one-time sign-in link.</p>"
        f'</main><script src="/dashboard/assets/{escape(js)}" defer></script></body></html>'
    )


def dashboard_page(css: str, js: str, *, site_name: str, csrf: str) -> str:
    """The dashboard shell; the script fetches the report and draws every panel."""
    ranges = "".join(
        f'<button type="button" data-days="{days}" aria-pressed="false">{label}</button>'
        for days, label in ((1, "24 h"), (7, "7 d"), (30, "30 d"))
    )
    return (
        _head(f"Rapport — {site_name}", css) + '<body class="dashboard"><header>'
        f"<h1>Rapport <span>{escape(site_name)}</span></h1>"
        f'<nav aria-label="Time range" class="ranges">{ranges}</nav>'
        '<button type="button" id="theme" aria-label="Switch light or dark theme">◐</button>'
        '<form method="post" action="/dashboard/sign-out">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit">Sign out</button></form></header>'
        '<p id="summary" aria-live="polite">Loading…</p>'
        '<main id="panels"></main>'
        f'<script src="/dashboard/assets/{escape(js)}" defer></script></body></html>'
    )


def missing_assets_page() -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Rapport dashboard</title></head><body><p>The dashboard's files are not built: "
        "run <code>make sdk</code> (or <code>python -m wasm_build.dashboard.build</code>).</p>"
        "</body></html>"
    )
