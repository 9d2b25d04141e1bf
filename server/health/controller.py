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

from rapport.server.services import Services
from rapport.server.storage import StorageError
from rapport.server.storage.outage import OUTAGE_RETRY_AFTER, is_outage

__all__ = ["HealthController", "HealthReply"]

log = logging.getLogger(__name__)
#: A write that changes nothing: during an outage, health is whether writes work again.
_WRITE_PROBE = "UPDATE alembic_version SET version_num = version_num"


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
        """Run one cheap query and check the writer; 503 with a generic reason if not ok.

        The raw error stays out of the reply (it may name hosts, users or files); the log
        has one line per outage (:class:`~server.storage.outage.OutageLog`). During an
        outage the check also makes a write that changes nothing, and its success ends the
        outage: an idle server taken out of rotation must be able to come back.
        """
        storage = services.storage
        if not storage.accepting_writes:
            log.warning("health check failed: the group-commit writer is not running")
            return _unhealthy(storage.backend, "the writer is not running")
        try:
            version = await storage.schema_version()
            if storage.outage.down:  # reads may work while writes do not (SQLite locked)
                await storage.sql_execute(_WRITE_PROBE)
        except Exception as exc:
            if not is_outage(exc) and not isinstance(exc, StorageError):
                log.exception("health check failed")
            storage.outage.failed(exc)
            return _unhealthy(storage.backend, "database unavailable")
        storage.outage.recovered()
        return Response(
            HealthReply(status="ok", database=storage.backend, schema_version=version),
            status_code=HTTP_200_OK,
        )


def _unhealthy(backend: str, reason: str) -> Response[HealthReply]:
    return Response(
        HealthReply(status="error", database=backend, error=reason),
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(OUTAGE_RETRY_AFTER)},
    )
