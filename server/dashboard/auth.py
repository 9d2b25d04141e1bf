"""Dashboard sign-in: sessions behind an HttpOnly cookie, and one-time sign-in links.

Both are random tokens of which only the SHA-256 is stored (in the database, so that several
server processes and ``rapport site login`` in another process share them). A session also
carries a CSRF token for the page's forms; the cookie itself is ``SameSite=Strict``, and every
POST must come from the dashboard's own origin (:func:`same_origin`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from rapport.server.sites.keys import hash_admin_token
from rapport.server.sites.model import Site
from rapport.server.storage.base import Storage

__all__ = [
    "COOKIE",
    "LINK_TTL",
    "SESSION_TTL",
    "DashboardSession",
    "consume_link",
    "create_link",
    "create_session",
    "end_session",
    "find_session",
    "same_origin",
    "site_for_admin_token",
]

COOKIE: Final = "rapport_dashboard"
#: A signed-in dashboard stays signed in this long (then: sign in again).
SESSION_TTL: Final = 8 * 3600.0
#: A one-time sign-in link from ``rapport site login`` works this long, once.
LINK_TTL: Final = 600.0


@dataclass(frozen=True, slots=True)
class DashboardSession:
    site: Site
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def site_for_admin_token(storage: Storage, token: str) -> Site | None:
    """The site whose admin token this is (the token names its site: no key to type)."""
    rows = await storage.sql_fetch(
        "SELECT site_key FROM sites WHERE admin_token_hash = ?", (hash_admin_token(token),)
    )
    return await storage.site_by_key(str(rows[0][0])) if rows else None


async def create_session(storage: Storage, site: Site, *, now: float) -> str:
    """A new session for ``site``; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    await storage.sql_execute(
        "DELETE FROM dashboard_sessions WHERE expires_at < ?", (now,)
    )  # expired ones are useless: keep the table small
    await storage.sql_execute(
        "INSERT INTO dashboard_sessions (token_hash, site_id, csrf, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (_hash(token), site.id, secrets.token_urlsafe(24), now, now + SESSION_TTL),
    )
    return token


async def find_session(
    storage: Storage, token: str | None, *, now: float
) -> DashboardSession | None:
    """The live session for a cookie value (``None``: absent, unknown, expired, site gone)."""
    if not token:
        return None
    rows = await storage.sql_fetch(
        "SELECT s.site_key, d.csrf FROM dashboard_sessions d JOIN sites s ON s.id = d.site_id "
        "WHERE d.token_hash = ? AND d.expires_at > ?",
        (_hash(token), now),
    )
    if not rows:
        return None
    site = await storage.site_by_key(str(rows[0][0]))
    return None if site is None else DashboardSession(site=site, csrf=str(rows[0][1]))


async def end_session(storage: Storage, token: str | None) -> None:
    """Sign out: the session stops working at once, in every process."""
    if token:
        await storage.sql_execute(
            "DELETE FROM dashboard_sessions WHERE token_hash = ?", (_hash(token),)
        )


async def create_link(storage: Storage, site: Site, *, now: float) -> str:
    """A one-time sign-in token for ``site`` (``rapport site login``)."""
    token = secrets.token_urlsafe(32)
    await storage.sql_execute("DELETE FROM dashboard_links WHERE expires_at < ?", (now,))
    await storage.sql_execute(
        "INSERT INTO dashboard_links (token_hash, site_id, expires_at) VALUES (?, ?, ?)",
        (_hash(token), site.id, now + LINK_TTL),
    )
    return token


async def consume_link(storage: Storage, token: str, *, now: float) -> Site | None:
    """The link's site, if the link is live; it is deleted either way (one use)."""
    rows = await storage.sql_fetch(
        "DELETE FROM dashboard_links WHERE token_hash = ? RETURNING site_id, expires_at",
        (_hash(token),),
    )
    if not rows or float(rows[0][1]) <= now:
        return None
    site_id = int(rows[0][0])
    for site in await storage.list_sites():
        if site.id == site_id:
            return site
    return None


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """Whether a POST's ``Origin`` is the dashboard's own (CSRF: a cross-site form fails).

    Browsers send ``Origin`` with every POST; a request without one is refused too.
    """
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()
