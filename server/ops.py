"""Operations: the per-IP rate limit and request metrics (one middleware), and ``/metrics``.

The middleware runs for every routed request. For ``/v1/*`` it first takes a token from
the client IP's bucket (``scope["client"]``: behind a reverse proxy, uvicorn's
``--forwarded-allow-ips`` makes that the real client), answering 429 with ``Retry-After``
and the API's error shape when empty. It then times the request and counts the response
by route template and status. Per-site limits need the site key, which only the handlers
know (``/v1/collect`` carries it in the body): see :func:`check_site_limit`.
"""

from __future__ import annotations

import hmac
import math
import time
from typing import Any, Final

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rapport.server.errors import ApiError, ErrorBody
from rapport.server.limits import rate_limited
from rapport.server.metrics import MEDIA_TYPE
from rapport.server.services import Services

__all__ = ["MetricsController", "OpsMiddleware", "check_site_limit"]

_API_PREFIX: Final = "/v1/"
_COLLECT_ROUTE: Final = "/v1/collect"


def check_site_limit(services: Services, site_key: str, field: str) -> None:
    """Take a token from the site's bucket or raise the 429 (``field`` names the key)."""
    wait = services.site_limits.take(site_key)
    if wait > 0:
        services.metrics.rate_limited.inc("site")
        raise rate_limited(wait, "site", field)


class OpsMiddleware(ASGIMiddleware):
    """Per-IP token bucket for ``/v1/*``, latency histogram and response counts."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, services: Services) -> None:
        self._services = services

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        services = self._services
        metrics = services.metrics
        route = str(scope.get("path_template") or scope["path"])
        if services.ip_limits.enabled and scope["path"].startswith(_API_PREFIX):
            client = scope.get("client")
            wait = services.ip_limits.take(client[0] if client else "")
            if wait > 0:
                metrics.rate_limited.inc("ip")
                await _too_many(send, wait)
                metrics.responses.inc(route, "429")
                if route == _COLLECT_ROUTE:
                    metrics.ingest_rejected.inc("429")
                return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_and_watch)
        finally:
            metrics.latency.observe(time.perf_counter() - started, route)
            code = str(status)
            metrics.responses.inc(route, code)
            if status >= 400 and route == _COLLECT_ROUTE:
                metrics.ingest_rejected.inc(code)


async def _too_many(send: Send, wait: float) -> None:
    retry_after = max(1, math.ceil(wait))
    body = msgspec.json.encode(
        ErrorBody(error=f"rate limit exceeded for this client address; retry after {retry_after} s")
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", str(retry_after).encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})


def check_metrics_access(request: Request[Any, Any, Any], token: str | None) -> None:
    """``/metrics`` tells traffic, sites' activity and queue depths: not for the public.

    With ``--metrics-token`` the scraper sends ``Authorization: Bearer <token>`` (compared
    in constant time); without one, only loopback clients (a local Prometheus or agent)
    are answered.
    """
    if token is None:
        client = request.client
        if client is None or client.host not in _LOOPBACK:
            raise ApiError(
                HTTP_403_FORBIDDEN,
                "metrics are served to loopback clients only; set --metrics-token to scrape "
                "from elsewhere",
            )
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(
            HTTP_401_UNAUTHORIZED,
            "send Authorization: Bearer <metrics token>",
            "Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )


class MetricsController(Controller):
    """``GET /metrics``: Prometheus text format, behind a token or on loopback only."""

    path = "/metrics"
    tags = ["ops"]  # noqa: RUF012 - Litestar's class attribute

    @get("/", summary="Prometheus metrics (text exposition format 0.0.4)", cache=False)
    async def metrics(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[str]:
        """Counters, the write-queue gauge and histograms of this process."""
        check_metrics_access(request, services.settings.metrics_token)
        return Response(services.metrics.render(), media_type=MEDIA_TYPE)
