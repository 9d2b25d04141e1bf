"""The site records the storage layer returns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NewSite", "Site"]


@dataclass(frozen=True, slots=True)
class Site:
    """A registered site.

    ``origins`` are normalised ``scheme://host[:port]`` strings; a request from any other
    origin is refused even though the site key is public (it is in the page's markup).
    """

    id: int
    name: str
    site_key: str
    origins: tuple[str, ...]
    created_at: float

    def allows_origin(self, origin: str) -> bool:
        """Whether a browser ``Origin`` header value may use this site's key."""
        return origin in self.origins


@dataclass(frozen=True, slots=True)
class NewSite:
    """A freshly created site and its admin token, which exists in clear only here.

    Only the token's SHA-256 is stored, so this is the one chance to show it.
    """

    site: Site
    admin_token: str
