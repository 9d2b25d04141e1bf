"""``GET /v1/hints/{visitor}?site=<site key>``: a visitor's current hints.

The collect reply already carries hints; this endpoint serves pages that need them
before (or without) sending a batch, e.g. right after navigation. Hint text can carry the
visitor's history, so the caller proves who it is: ``Authorization: Bearer`` with the
visitor key (``server/visitors/proof.py``) or the site's admin token.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from rapport.client_py.schema import ID_PATTERN, SITE_KEY_PATTERN
from rapport.server.errors import ApiError
from rapport.server.hints.model import HintsReply
from rapport.server.openapi import ERROR_RESPONSES, SiteKeyQuery, error_responses
from rapport.server.services import Services
from rapport.server.sites.access import resolve_site
from rapport.server.visitors.proof import require_visitor_or_admin

__all__ = ["HintsController"]

_ID_RE: Final = re.compile(ID_PATTERN)
_SITE_KEY_RE: Final = re.compile(SITE_KEY_PATTERN)


class HintsController(Controller):
    """Read access to hints, scoped by site: a key only ever sees its own site's visitors."""

    path = "/v1/hints"
    tags = ["hints"]  # noqa: RUF012 - Litestar's class attribute

    @get(
        "/{visitor:str}",
        responses={**error_responses(403, 404, 422, 503), 401: ERROR_RESPONSES[403]},
        summary="The visitor's current hints",
    )
    async def visitor_hints(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        visitor: Annotated[str, PathParameter(description="Visitor id made on the device.")],
        site: SiteKeyQuery = None,
    ) -> HintsReply:
        """Needs ``Authorization: Bearer <visitor key>`` (or the site's admin token ``sk_…``).
        Origin is checked only when present: server-side callers send none."""
        if _ID_RE.fullmatch(visitor) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                f"visitor id must match {ID_PATTERN}",
                "visitor",
            )
        if site is None or _SITE_KEY_RE.fullmatch(site) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                f"query parameter site must be a site key matching {SITE_KEY_PATTERN}",
                "site",
            )
        record = await resolve_site(services, site, request.headers.get("origin"))
        await require_visitor_or_admin(request, services, record, visitor)
        profile = await services.storage.profile(record.id, visitor)
        engine = services.hints
        decision = await engine.hints(record.id, visitor, profile, now=services.clock())
        return HintsReply(hints=decision.hints, holdout=decision.holdout)
