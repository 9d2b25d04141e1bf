"""Normalisation of site origins.

Browsers send ``Origin: scheme://host[:port]`` with a lower-case host, IDNA (punycode)
for non-ASCII names and no default port. We store origins in exactly that form so the
per-request check is a plain string comparison.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["InvalidOrigin", "normalise_origin", "normalise_origins"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidOrigin(ValueError):
    """The text is not a usable web origin; the message says why."""


def normalise_origin(url: str) -> str:
    """Return ``scheme://host[:port]`` for ``url`` or raise :class:`InvalidOrigin`.

    A trailing ``/`` is tolerated (people paste ``https://shop.example/``), but any other
    path, a query, a fragment or credentials are refused rather than silently dropped,
    because they suggest the owner meant something an origin cannot express.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidOrigin(f"invalid origin {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidOrigin(
            f"invalid origin {url!r}: scheme must be http or https (e.g. https://shop.example)"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidOrigin(f"invalid origin {url!r}: must not contain credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidOrigin(
            f"invalid origin {url!r}: an origin has no path, query or fragment "
            "(use scheme://host[:port])"
        )
    host = parts.hostname
    if not host:
        raise InvalidOrigin(f"invalid origin {url!r}: no host")
    if ":" in host:  # IPv6 literal; urlsplit strips the brackets
        host_text = f"[{host}]"
    else:
        try:
            host_text = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise InvalidOrigin(f"invalid origin {url!r}: bad host name") from None
        if any(ch in host_text for ch in " /\\@"):
            raise InvalidOrigin(f"invalid origin {url!r}: bad host name")
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host_text}"
    return f"{scheme}://{host_text}:{port}"


def normalise_origins(urls: Iterable[str]) -> tuple[str, ...]:
    """Normalise and de-duplicate, keeping the first occurrence's order."""
    seen: dict[str, None] = {}
    for url in urls:
        seen.setdefault(normalise_origin(url), None)
    return tuple(seen)
