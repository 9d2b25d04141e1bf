"""Request guards and response headers for every reply.

The first middleware refuses oversized headers and ambiguous query strings; a ``before_send``
hook adds the headers every response needs.

* **Request headers over ``max_header_bytes``** (names and values summed, 16 KB by default)
  → 431. uvicorn's ``httptools`` parser has no limit of its own: an 8 MB ``Origin`` was
  accepted and then compared with every site's origins.
* **A query parameter given twice** under ``/v1/`` (``?site=A&site=B``) → 400 naming it. No
  API parameter is a list, and "last one wins" means a cache, a proxy or a log reader that
  keeps the first may believe another site was asked.
* **``X-Content-Type-Options: nosniff``** on every response (errors and the SDK included), so
  no browser ever guesses a type for an error body or a file.
* **``Cache-Control: no-store``** on admin and visitor-rights answers (profile exports, a
  visitor's data), which no shared or browser cache should keep.

It runs before CORS and the rate limits, so a refused request costs no site lookup and no
token.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote_plus

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.server.errors import ErrorBody

__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "RequestGuardMiddleware",
    "add_response_headers",
    "repeated_parameter",
]

DEFAULT_MAX_HEADER_BYTES: Final = 16 * 1024
_API_PREFIX: Final = "/v1/"
_NO_STORE_PREFIXES: Final = ("/v1/admin/", "/v1/visitors/")


def repeated_parameter(query_string: bytes) -> str | None:
    """The first query parameter name that occurs twice, else ``None``."""
    if b"&" not in query_string and b";" not in query_string:
        return None  # one parameter at most: the common case, no parsing
    seen: set[str] = set()
    for part in query_string.decode("latin-1").replace(";", "&").split("&"):
        if not part:
            continue
        name = unquote_plus(part.split("=", 1)[0])
        if name in seen:
            return name
        seen.add(name)
    return None


async def _refuse(send: Send, status: int, error: str, field: str | None) -> None:
    body = msgspec.json.encode(ErrorBody(error=error, field=field))
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 431:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class RequestGuardMiddleware(ASGIMiddleware):
    """Header size limit, repeated query parameters, ``nosniff`` and ``no-store``."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> None:
        self._max_header_bytes = max_header_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        size = 0
        for key, value in scope["headers"]:
            size += len(key) + len(value)
        if size > self._max_header_bytes:
            await _refuse(
                send,
                431,
                f"request headers too large ({size} bytes; at most {self._max_header_bytes})",
                None,
            )
            return
        path: str = scope["path"]
        if path.startswith(_API_PREFIX) and (
            name := repeated_parameter(scope.get("query_string", b""))
        ):
            shown = name if len(name) <= 60 else name[:59] + "…"
            await _refuse(
                send, 400, f"query parameter {shown!r} given more than once: send it once", shown
            )
            return
        await next_app(scope, receive, send)


async def add_response_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook (it sees every response, unrouted 404s included)."""
    if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    if scope["path"].startswith(_NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"
