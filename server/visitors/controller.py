"""``GET`` / ``DELETE /v1/visitors/{visitor}?site=<site key>``: a visitor's own data.

Authenticated by the visitor secret (``Authorization: Bearer <secret>``), from which the
visitor id is derived (:mod:`server.visitors.identity`): only the browser that made the id
can see or erase what is stored under it. The site key scopes everything: a visitor of
another site is simply not there. When an ``Origin`` header is present (the SDK's worker)
it must be one of the site's origins, as for every ``/v1`` call.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, delete, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from rapport.client_py.schema import ID_PATTERN, SITE_KEY_PATTERN
from rapport.server.errors import ApiError
from rapport.server.openapi import ERROR_RESPONSES, SiteKeyQuery, error_responses
from rapport.server.services import Services
from rapport.server.sites.access import resolve_site
from rapport.server.sites.model import Site
from rapport.server.visitors.export import export_document
from rapport.server.visitors.identity import is_valid_secret, secret_matches

__all__ = ["VisitorErased", "VisitorsController", "bearer_token"]

_ID_RE: Final = re.compile(ID_PATTERN)
_SITE_KEY_RE: Final = re.compile(SITE_KEY_PATTERN)
_RESPONSES: Final = error_responses(403, 404, 422, 503)


class VisitorErased(msgspec.Struct, frozen=True):
    """What an erasure removed."""

    site: str
    visitor: str
    removed: dict[str, int]
    """Rows deleted per table: every table that mentions a visitor
    (``server/storage/visitor_tables.py``)."""


def bearer_token(request: Request[Any, Any, Any], what: str) -> str:
    """The ``Authorization: Bearer …`` value, or a 401 naming what to send."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            HTTP_401_UNAUTHORIZED,
            f"send Authorization: Bearer <{what}>",
            "Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


class VisitorsController(Controller):
    """See and erase one's own data (GDPR access and erasure), per site."""

    path = "/v1/visitors"
    tags = ["visitors"]  # noqa: RUF012 - Litestar's class attribute

    async def _authorise(
        self, request: Request[Any, Any, Any], services: Services, visitor: str, site: str | None
    ) -> Site:
        limits = services.rights_limits
        client = request.scope.get("client")
        limits.take_ip(client[0] if client else "")
        if _ID_RE.fullmatch(visitor) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY, f"visitor id must match {ID_PATTERN}", "visitor"
            )
        if site is None or _SITE_KEY_RE.fullmatch(site) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                f"query parameter site must be a site key matching {SITE_KEY_PATTERN}",
                "site",
            )
        secret = bearer_token(request, "visitor secret")
        if not is_valid_secret(secret) or not secret_matches(secret, visitor):
            raise ApiError(
                HTTP_403_FORBIDDEN,
                "the visitor secret does not belong to this visitor id",
                "Authorization",
            )
        record = await resolve_site(services, site, request.headers.get("origin"))
        limits.take_visitor(record.id, visitor)
        return record

    @get(
        "/{visitor:str}",
        responses={**_RESPONSES, 401: ERROR_RESPONSES[403], 429: ERROR_RESPONSES[429]},
        summary="Everything stored about this visitor on this site (streamed JSON)",
        media_type="application/json",
        cache=False,
    )
    async def export_visitor(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        visitor: Annotated[str, PathParameter(description="The visitor id (from the secret).")],
        site: SiteKeyQuery = None,
        page: Annotated[
            int, QueryParameter(ge=0, le=1_000_000, description="Page of a long export.")
        ] = 0,
    ) -> Stream:
        """Requires ``Authorization: Bearer <visitor secret>``; the id must derive from it.

        One JSON document, streamed: ``site``, ``visitor``, ``page``, one array per table
        that mentions a visitor (each row an object of that table's columns), then
        ``counts``, ``truncated`` (tables with more rows than one page holds) and
        ``next_page`` (``null`` when complete). See ``server/visitors/export.py``."""
        record = await self._authorise(request, services, visitor, site)
        limits = services.rights_limits
        limits.export_slot_or_busy()
        settings = services.settings

        async def body() -> AsyncIterator[bytes]:
            async with limits.exports:
                deadline = time.monotonic() + settings.export_deadline
                async for piece in export_document(
                    services.storage,
                    site_id=record.id,
                    site_key=record.site_key,
                    visitor=visitor,
                    page=page,
                    max_rows=settings.export_max_rows,
                    deadline=deadline,
                    pace=limits.pace,
                ):
                    yield piece

        return Stream(
            body(),
            media_type="application/json",
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    @delete(
        "/{visitor:str}",
        status_code=200,
        responses={**_RESPONSES, 401: ERROR_RESPONSES[403]},
        summary="Erase everything stored about this visitor on this site",
    )
    async def erase_visitor(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        visitor: Annotated[str, PathParameter(description="The visitor id (from the secret).")],
        site: SiteKeyQuery = None,
    ) -> VisitorErased:
        """Deletes the visitor's rows from every table that mentions a visitor, in one
        transaction (pending webhook deliveries about them included); answers the counts."""
        record = await self._authorise(request, services, visitor, site)
        removed = await services.storage.erase_visitor(record.id, visitor)
        return VisitorErased(site=record.site_key, visitor=visitor, removed=removed)
