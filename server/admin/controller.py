"""``/v1/admin/sites/{site_key}/…``: for the site owner, with ``Authorization: Bearer sk_…``.

The admin token is checked against the stored SHA-256 of *this* site's token, so a token of
site A never opens site B (403), whatever key is in the path.
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.status_codes import (
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from rapport.client_py.schema import SITE_KEY_PATTERN
from rapport.server.errors import ApiError
from rapport.server.openapi import SiteKeyPath, error_responses
from rapport.server.services import Services
from rapport.server.sites.keys import admin_token_matches
from rapport.server.sites.model import Site
from rapport.server.visitors.controller import bearer_token

__all__ = ["AdminController", "SiteStatsReply"]

_SITE_KEY_RE: Final = re.compile(SITE_KEY_PATTERN)


class SiteStatsReply(msgspec.Struct, frozen=True):
    """Row counts of one site."""

    site: str
    name: str
    signals: int
    batches: int
    visitors: int
    """Distinct visitors with at least one stored batch."""
    profiles: int


async def authorise_admin(
    request: Request[Any, Any, Any], services: Services, site_key: str
) -> Site:
    """The site whose admin token the request carries, or 401/403/404/422."""
    if _SITE_KEY_RE.fullmatch(site_key) is None:
        raise ApiError(
            HTTP_422_UNPROCESSABLE_ENTITY,
            f"site key must match {SITE_KEY_PATTERN}",
            "site_key",
        )
    token = bearer_token(request, "admin token sk_…")
    site = await services.sites.by_key(site_key)
    if site is None:
        raise ApiError(HTTP_404_NOT_FOUND, "unknown site key", "site_key")
    stored = await services.storage.site_admin_token_hash(site.id)
    if stored is None or not admin_token_matches(token, stored):
        raise ApiError(
            HTTP_403_FORBIDDEN, "the admin token does not belong to this site", "Authorization"
        )
    return site


class AdminController(Controller):
    """Per-site administration."""

    path = "/v1/admin/sites"
    tags = ["admin"]  # noqa: RUF012 - Litestar's class attribute

    @get(
        "/{site_key:str}/stats",
        responses=error_responses(403, 404, 422, 503),
        summary="Signal, batch, visitor and profile counts of a site",
        cache=False,
    )
    async def site_stats(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        site_key: SiteKeyPath,
    ) -> SiteStatsReply:
        """Requires ``Authorization: Bearer <the site's admin token>``. Full scans."""
        site = await authorise_admin(request, services, site_key)
        stats = await services.storage.site_stats(site.id)
        return SiteStatsReply(
            site=site.site_key,
            name=site.name,
            signals=stats.signals,
            batches=stats.batches,
            visitors=stats.visitors,
            profiles=stats.profiles,
        )
