"""Proof of being the visitor: the visitor key, from which the server derives the id.

The worker holds the key (``client_py/identity.py``), never the secret; an id alone (seen in a
webhook, a log or an export) proves nothing. Reading hints — whose text can carry history
("4 visits, 3 purchases") — needs the key or the site's admin token; collect and feedback
carry the key in their body, so the id they act on is always the one the key proves.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.status_codes import HTTP_403_FORBIDDEN

from rapport.client_py.identity import is_valid_key, visitor_id_from_key
from rapport.server.errors import ApiError
from rapport.server.services import Services
from rapport.server.sites.keys import admin_token_matches
from rapport.server.sites.model import Site
from rapport.server.visitors.controller import bearer_token

__all__ = ["key_proves", "require_visitor_or_admin"]


def key_proves(key: str, visitor: str) -> bool:
    """Constant-time check that ``key`` derives ``visitor``."""
    return is_valid_key(key) and hmac.compare_digest(visitor_id_from_key(key), visitor)


async def require_visitor_or_admin(
    request: Request[Any, Any, Any], services: Services, site: Site, visitor: str
) -> None:
    """``Authorization: Bearer <visitor key>`` for this id, or the site's admin token
    (``sk_…``: the site's own server); else 401 (none) or 403."""
    token = bearer_token(request, "visitor key (or the site's admin token)")
    if token.startswith("sk_"):
        stored = await services.storage.site_admin_token_hash(site.id)
        if stored is not None and admin_token_matches(token, stored):
            return
    elif key_proves(token, visitor):
        return
    raise ApiError(
        HTTP_403_FORBIDDEN,
        "Authorization proves neither this visitor (its key) nor the site (admin token)",
        "Authorization",
    )
