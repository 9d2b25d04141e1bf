"""Who may use a site's public key: the Origin checks shared by the API handlers."""

from __future__ import annotations

from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_404_NOT_FOUND

from rapport.server.errors import ApiError
from rapport.server.ops import check_site_limit
from rapport.server.services import Services
from rapport.server.sites.model import Site

__all__ = ["check_origin", "require_origin", "resolve_site"]


def require_origin(origin: str | None) -> None:
    """Refuse a request without an ``Origin`` header (403).

    Browsers always send Origin on POST (``fetch`` and ``sendBeacon`` alike), so its
    absence means the request did not come from a page we could check.
    """
    if not origin:
        raise ApiError(
            HTTP_403_FORBIDDEN,
            "missing Origin header: send from a page on one of the site's allowed origins",
        )


def check_origin(origin: str | None, site: Site) -> None:
    """Refuse a request whose ``Origin`` is not among ``site``'s allowed origins (403).

    The site key is public (it is in the page's markup), so the origin is what stops
    another site from writing into, or reading from, this site's data. CORS alone would
    not: a browser still *sends* a cross-origin "simple" POST and only hides the reply.
    """
    require_origin(origin)
    assert origin is not None
    if not site.allows_origin(origin):
        shown = origin if len(origin) <= 100 else origin[:99] + "…"
        raise ApiError(HTTP_403_FORBIDDEN, f"origin {shown} is not allowed for this site")


async def resolve_site(
    services: Services, key: str, origin: str | None, *, where: str = "site"
) -> Site:
    """The site a public key names, for a request from ``origin``: unknown key (404, at
    ``where``) → Origin allowed for that site (403; checked only when sent, callers that
    require one refuse its absence first) → the site's rate limit (429).

    The Origin comes before the limit, so a foreign page spends none of the site's budget.
    """
    site = await services.sites.by_key(key)
    if site is None:
        raise ApiError(HTTP_404_NOT_FOUND, "unknown site key", where)
    if origin:
        check_origin(origin, site)
    check_site_limit(services, site.site_key, where)
    return site
