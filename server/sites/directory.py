"""A small cache in front of the sites table, used on every API request.

Sites change rarely (``rapport site add`` may run in another process while the server
runs), so a positive entry is trusted for ``ttl`` seconds. Misses are always looked up,
so a site created a moment ago works at once. The set of all allowed origins (needed for
CORS preflights, which carry no site key) is refreshed after ``ttl`` or, at most once per
``miss_refresh`` seconds, when an unknown origin shows up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rapport.server.sites.model import Site
from rapport.server.storage.base import Storage

__all__ = ["SiteDirectory"]


class SiteDirectory:
    """Site lookups by public key and origin, cached."""

    def __init__(
        self,
        storage: Storage,
        *,
        ttl: float = 5.0,
        miss_refresh: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._ttl = ttl
        self._miss_refresh = miss_refresh
        self._clock = clock
        self._by_key: dict[str, tuple[float, Site]] = {}
        self._origins: frozenset[str] = frozenset()
        self._origins_loaded_at: float | None = None
        self._origins_lock = asyncio.Lock()

    async def by_key(self, site_key: str) -> Site | None:
        """The site for a public key, or ``None`` if no such site exists."""
        now = self._clock()
        cached = self._by_key.get(site_key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        site = await self._storage.site_by_key(site_key)
        if site is None:
            self._by_key.pop(site_key, None)
        else:
            self._by_key[site_key] = (now, site)
        return site

    async def is_known_origin(self, origin: str) -> bool:
        """Whether ``origin`` is allowed by at least one site (for CORS)."""
        now = self._clock()
        loaded = self._origins_loaded_at
        stale = loaded is None or now - loaded >= self._ttl
        miss = loaded is not None and origin not in self._origins
        if stale or (miss and now - (loaded or 0.0) >= self._miss_refresh):
            await self._refresh_origins()
        return origin in self._origins

    def invalidate(self) -> None:
        """Forget everything (after this process changed a site)."""
        self._by_key.clear()
        self._origins_loaded_at = None

    async def _refresh_origins(self) -> None:
        async with self._origins_lock:
            sites = await self._storage.list_sites()
            self._origins = frozenset(o for site in sites for o in site.origins)
            self._origins_loaded_at = self._clock()
