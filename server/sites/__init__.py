"""Sites: the site owners' registrations (public key, hashed admin token, allowed origins).

``server.sites.directory`` (the cache) and ``server.sites.access`` (origin checks) are
imported from their modules: they depend on storage, which depends on this package.
"""

from rapport.server.sites.keys import (
    admin_token_matches,
    hash_admin_token,
    new_admin_token,
    new_site_key,
)
from rapport.server.sites.model import NewSite, Site
from rapport.server.sites.origins import InvalidOrigin, normalise_origin, normalise_origins

__all__ = [
    "InvalidOrigin",
    "NewSite",
    "Site",
    "admin_token_matches",
    "hash_admin_token",
    "new_admin_token",
    "new_site_key",
    "normalise_origin",
    "normalise_origins",
]
