"""Who may use a site's public key: the Origin checks shared by the API handlers."""

from __future__ import annotations

from litestar.status_codes import HTTP_403_FORBIDDEN

from server.errors import ApiError
from server.sites.model import Site

__all__ = ["check_origin", "require_origin"]


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
