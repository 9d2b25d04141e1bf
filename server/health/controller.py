"""``GET /healthz``: 200 only when the database answers and the writer is running.

Load balancers take a server out of rotation on a non-200, so a server whose database is
gone must say so rather than accept batches it cannot store.
"""

from __future__ import annotations

import logging

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from server.services import Services

__all__ = ["HealthController", "HealthReply"]

log = logging.getLogger(__name__)


class HealthReply(msgspec.Struct, frozen=True, omit_defaults=True):
    """Health status; ``error`` only when not ok."""

    status: str
    database: str
    schema_version: int | None = None
    error: str | None = None


class HealthController(Controller):
    """Health endpoint for load balancers and ``rapport demo``."""

    path = "/healthz"
    tags = ["ops"]  # noqa: RUF012 - Litestar's class attribute

    @get("/", summary="Health check (database reachable)", cache=False)
    async def health(self, services: NamedDependency[Services]) -> Response[HealthReply]:
        """Run one cheap query and check the writer; report 503 with the reason if not ok."""
        storage = services.storage
        try:
            version = await storage.schema_version()
            if not storage.accepting_writes:
                raise RuntimeError("the group-commit writer is not running")
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return Response(
                HealthReply(status="error", database=storage.backend, error=str(exc)),
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(
            HealthReply(status="ok", database=storage.backend, schema_version=version),
            status_code=HTTP_200_OK,
        )
