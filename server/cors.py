"""CORS for ``/v1/*``, where the allowed origins are per site and change at run time.

Litestar's ``CORSConfig`` takes a fixed list, so we do it here:

* a preflight (``OPTIONS`` with ``Origin``) is answered 204 with the allowed methods and
  headers (``Content-Type``, and ``Authorization`` for the visitor secret) when the origin
  belongs to *any* site (a preflight carries no site key), else 403;
* any other response to a known origin gets ``Access-Control-Allow-Origin: <origin>``, so
  the page can read replies and errors alike, plus ``Vary: Origin`` everywhere under
  ``/v1`` so caches never mix origins;
* ``/v1/admin/*`` gets no CORS at all (preflights 403) unless ``admin_cors`` is set: its
  callers are the site's servers, and its replies (profile exports) are for them only.

This only decides what a browser lets a page *read*. Whether a request may act on a site's
data is checked by the handlers against that site's own origins (a cross-origin "simple"
POST reaches the server whatever CORS says), so exposing error bodies to an origin of
another site leaks nothing.
"""

from __future__ import annotations

from typing import Final

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.server.scope_headers import scope_header
from rapport.server.sites.directory import SiteDirectory

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "SiteCorsMiddleware"]

ALLOWED_METHODS: Final = "POST, GET, DELETE, OPTIONS"
ALLOWED_HEADERS: Final = "Content-Type, Authorization"
PREFLIGHT_MAX_AGE: Final = "600"
_PREFIX: Final = "/v1/"
_ADMIN_PREFIX: Final = "/v1/admin/"


class SiteCorsMiddleware(ASGIMiddleware):
    """Dynamic, per-site CORS for the API (see the module docstring)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, sites: SiteDirectory, *, admin_cors: bool = False) -> None:
        self._sites = sites
        self._admin_cors = admin_cors

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope["path"]
        if not path.startswith(_PREFIX):
            await next_app(scope, receive, send)
            return
        origin = scope_header(scope, b"origin")
        # Admin routes are for the site's servers: no page may read them unless allowed.
        cors = self._admin_cors or not path.startswith(_ADMIN_PREFIX)
        known = cors and bool(origin) and await self._sites.is_known_origin(origin or "")
        if scope.get("method") == "OPTIONS" and origin:
            await self._preflight(send, origin if known else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("Vary", "Origin")
                if known and origin:
                    headers["Access-Control-Allow-Origin"] = origin
            await send(message)

        await next_app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, allowed_origin: str | None) -> None:
        if allowed_origin is None:
            body = b'{"error":"origin is not allowed by any site","field":null}'
            headers = [
                (b"content-type", b"application/json"),
                (b"vary", b"Origin"),
            ]
            status = 403
        else:
            body = b""
            headers = [
                (b"access-control-allow-origin", allowed_origin.encode("latin-1")),
                (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ]
            status = 204
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
