"""The Litestar application: ``create_app()`` wires settings, storage and controllers.

Run it with ``rapport serve`` (preferred: it checks the database URL first), or with
``uvicorn --factory server.app:create_app`` (settings from ``RAPPORT_*`` variables).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from litestar import Litestar
from litestar.di import Provide

from server.config import Settings
from server.cors import SiteCorsMiddleware
from server.errors import exception_handlers
from server.health import HealthController
from server.hints.controller import HintsController
from server.ingest.controller import CollectController
from server.openapi import add_collect_schemas, openapi_config
from server.sdk.controller import SdkController
from server.services import Services
from server.sites.directory import SiteDirectory
from server.storage import Storage, create_storage

__all__ = ["create_app", "package_version"]

log = logging.getLogger(__name__)


def package_version() -> str:
    """The installed ``rapport`` version (``0+unknown`` when run from a bare checkout)."""
    try:
        return version("rapport")
    except PackageNotFoundError:  # pragma: no cover
        return "0+unknown"


def create_app(
    settings: Settings | None = None,
    *,
    storage: Storage | None = None,
    clock: Callable[[], float] = time.time,
) -> Litestar:
    """Build the app. Storage is opened on startup (migrations applied) and closed on
    shutdown after the write queue is drained, so every acknowledged batch is committed.

    ``storage`` and ``clock`` are injectable for tests; by default storage comes from
    ``settings.database_url``.
    """
    settings = settings or Settings.from_env()
    if storage is None:
        storage = create_storage(
            settings.database_url,
            max_queue=settings.writer_queue_size,
            max_group=settings.writer_max_group,
            enqueue_timeout=settings.enqueue_timeout,
        )
    sites = SiteDirectory(storage, ttl=settings.site_cache_ttl)
    services = Services(settings=settings, storage=storage, sites=sites, clock=clock)

    async def open_storage() -> None:
        await storage.open()
        log.info("storage open: %s (schema v%d)", storage.backend, await storage.schema_version())

    async def close_storage() -> None:
        await storage.close()
        log.info("storage closed (write queue drained)")

    def provide_services() -> Services:
        return services

    app = Litestar(
        route_handlers=[CollectController, HintsController, HealthController, SdkController],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        middleware=[SiteCorsMiddleware(sites)],
        exception_handlers=exception_handlers(),
        on_startup=[open_storage],
        on_shutdown=[close_storage],
        openapi_config=openapi_config(package_version()),
        request_max_body_size=settings.max_body_bytes,
        # Logging is the host process's business (``rapport serve`` configures it); Litestar's
        # default queue-based config could drop the last records when the process exits.
        logging_config=None,
    )
    add_collect_schemas(app)
    app.state.services = services
    return app
