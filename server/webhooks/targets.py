"""Which URLs a webhook may be delivered to, and how they appear in logs.

A webhook URL is typed by a site owner, and the server then POSTs to it from inside the
operator's network. Without checks that is a way to reach what only the server can reach:
``http://127.0.0.1:5432``, ``http://169.254.169.254/`` (cloud metadata), a private admin
panel. So, unless the operator allows it explicitly (``--allow-private-webhooks``, also what
our own tests' local receiver needs):

* only ``http``/``https`` URLs with a host;
* no credentials in the URL (``user:pass@``): they end up in logs and proxies;
* no loopback, private, link-local, shared, multicast, reserved or unspecified address —
  checked on the literal host when the webhook is added, and on **every address the name
  resolves to** when a delivery is sent; the delivery then connects to the checked address
  (the URL's name still goes in ``Host`` and TLS SNI/certificate checks), so a name cannot
  resolve to a public address for the check and to ``127.0.0.1`` for the connection.

Logs show :func:`redact` of a URL: scheme, host, port and path only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

__all__ = ["Resolver", "Target", "UnsafeWebhookURL", "check_url", "redact", "resolve_target"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) → addresses``; the default asks the system resolver."""


class UnsafeWebhookURL(ValueError):
    """The URL may not receive webhooks (the message says why, without credentials)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked delivery target: the URL to request (host pinned to ``address``) and the
    original host for ``Host`` and TLS."""

    url: httpx.URL
    host: str
    address: str


def redact(url: str | httpx.URL) -> str:
    """``scheme://host[:port]/path``: no credentials, no query (tokens live there too)."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid URL>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> httpx.URL:
    """The parsed URL, or :class:`UnsafeWebhookURL` (checks that need no DNS)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise UnsafeWebhookURL("not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UnsafeWebhookURL("webhook URLs must be http:// or https:// with a host")
    if allow_private:
        return parsed
    if parsed.userinfo:
        raise UnsafeWebhookURL(
            "webhook URLs must not carry credentials (user:password@): put a token in a "
            "header on your side, or verify our signature instead"
        )
    host = parsed.host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeWebhookURL(f"{redact(parsed)} is a loopback address")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return parsed  # a name: checked when resolved, at delivery time
    if not _is_public(str(literal)):
        raise UnsafeWebhookURL(f"{redact(parsed)} is not a public address")
    return parsed


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def resolve_target(
    url: str, *, allow_private: bool, resolver: Resolver | None = None
) -> Target:
    """Check ``url`` and resolve it to one address that passed the checks."""
    parsed = check_url(url, allow_private=allow_private)
    if allow_private:
        return Target(url=parsed, host=parsed.host, address=parsed.host)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = await (resolver or _system_resolver)(parsed.host, port)
    except OSError:
        raise UnsafeWebhookURL(f"{redact(parsed)}: the host name does not resolve") from None
    if not addresses:
        raise UnsafeWebhookURL(f"{redact(parsed)}: the host name does not resolve")
    for address in addresses:
        if not _is_public(address):
            raise UnsafeWebhookURL(f"{redact(parsed)} resolves to a non-public address")
    return Target(url=parsed.copy_with(host=addresses[0]), host=parsed.host, address=addresses[0])
