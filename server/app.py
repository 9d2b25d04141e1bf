"""The Litestar application: ``create_app()`` wires settings, storage and controllers.

Run it with ``rapport serve`` (preferred: it checks the database URL first), or with
``uvicorn --factory server.app:create_app`` (settings from ``RAPPORT_*`` variables).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from litestar import Litestar
from litestar.di import Provide

from rapport.server.admin import AdminController
from rapport.server.config import Settings
from rapport.server.cors import SiteCorsMiddleware
from rapport.server.dashboard import DashboardController
from rapport.server.dashboard.assets import DashboardAssets, default_assets_dir
from rapport.server.errors import exception_handlers
from rapport.server.exports.controller import ExportsController
from rapport.server.feedback.controller import FeedbackController
from rapport.server.guard import RequestGuardMiddleware, add_response_headers
from rapport.server.health import HealthController
from rapport.server.hints.controller import HintsController
from rapport.server.hints.engine import HintEngine
from rapport.server.ingest.controller import CollectController
from rapport.server.limits import TokenBuckets
from rapport.server.metrics import Metrics
from rapport.server.openapi import add_collect_schemas, openapi_config
from rapport.server.ops import MetricsController, OpsMiddleware
from rapport.server.report.controller import ReportController
from rapport.server.sdk.controller import SdkController
from rapport.server.services import Services
from rapport.server.sites.directory import SiteDirectory
from rapport.server.storage import Storage, create_storage, parse_database_url
from rapport.server.storage.base import HintLogRow
from rapport.server.visitors.controller import VisitorsController
from rapport.server.visitors.limits import RightsLimits
from rapport.server.webhooks import WebhookDispatcher, enqueue_events, enqueue_hot_leads
from rapport.server.webhooks.events import HotLead

__all__ = ["create_app", "package_version", "run_retention"]

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
    # Which database, for the log (no password): an operator with several reads it there.
    where = "injected storage" if storage is not None else _redacted_url(settings.database_url)
    if storage is None:
        storage = create_storage(
            settings.database_url,
            max_queue=settings.writer_queue_size,
            max_group=settings.writer_max_group,
            enqueue_timeout=settings.enqueue_timeout,
        )
    sites = SiteDirectory(storage, ttl=settings.site_cache_ttl)

    def profile_cache_stats() -> tuple[float, float, float]:
        cache = storage.profile_cache
        return (0, 0, 0) if cache is None else (cache.hits, cache.misses, len(cache))

    metrics = Metrics(queue_depth=lambda: storage.queue_depth, profile_cache=profile_cache_stats)
    storage.set_flush_observer(metrics.observe_flush)

    async def on_new_hints(rows: list[HintLogRow]) -> None:
        keys = {site.id: site.site_key for site in await storage.list_sites()}
        await enqueue_events(storage, rows, now=time.time(), site_keys=keys)

    async def on_hot_leads(leads: list[HotLead]) -> None:
        keys = {site.id: site.site_key for site in await storage.list_sites()}
        await enqueue_hot_leads(storage, leads, now=time.time(), site_keys=keys)

    hints = HintEngine(storage, clock=clock, on_new_hints=on_new_hints, on_hot_leads=on_hot_leads)
    services = Services(
        settings=settings,
        storage=storage,
        sites=sites,
        clock=clock,
        hints=hints,
        metrics=metrics,
        ip_limits=TokenBuckets(settings.rate_per_ip, max_keys=settings.rate_max_keys),
        site_limits=TokenBuckets(settings.rate_per_site, max_keys=settings.rate_max_keys),
        rights_limits=RightsLimits.per_minute(
            ip=settings.rights_per_minute_per_ip,
            visitor=settings.rights_per_minute_per_visitor,
            concurrency=settings.export_concurrency,
            max_keys=settings.rate_max_keys,
            share=settings.export_share,
        ),
    )
    background: list[asyncio.Task[None]] = []
    webhooks = WebhookDispatcher(storage, allow_private=settings.allow_private_webhooks)

    async def open_storage() -> None:
        await storage.open()
        version = await storage.schema_version()
        log.info("storage open: %s, %s (schema v%d)", storage.backend, where, version)
        if settings.retention_days > 0:
            background.append(asyncio.create_task(_retention_loop(services), name="retention"))
        background.append(asyncio.create_task(hints.run(), name="hint-log"))
        background.append(asyncio.create_task(webhooks.run(), name="webhooks"))
        background.append(asyncio.create_task(_retrain_loop(services), name="retrain"))

    async def close_storage() -> None:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        background.clear()
        await storage.close()
        log.info("storage closed (write queue drained)")

    def provide_services() -> Services:
        return services

    app = Litestar(
        route_handlers=[
            CollectController,
            HintsController,
            FeedbackController,
            ExportsController,
            VisitorsController,
            AdminController,
            ReportController,
            DashboardController,
            HealthController,
            MetricsController,
            SdkController,
        ],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        # The guard first (431 and repeated parameters cost nothing else); then CORS, so that
        # even a 429 from the rate limit is readable by the page.
        middleware=[
            RequestGuardMiddleware(settings.max_header_bytes),
            SiteCorsMiddleware(sites, admin_cors=settings.admin_cors),
            OpsMiddleware(services),
        ],
        before_send=[add_response_headers],
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
    app.state.webhooks = webhooks
    app.state.dashboard_assets = DashboardAssets(default_assets_dir())
    return app


def _redacted_url(url: str) -> str:
    """The database URL without its password; one that does not parse is not repeated (it
    may hold one), the storage's own error says what is wrong with it."""
    try:
        return parse_database_url(url).redacted()
    except ValueError:
        return "an unparsable URL"


async def run_retention(services: Services) -> dict[str, int]:
    """Delete raw signals and batch records older than ``retention_days``; profiles stay."""
    days = services.settings.retention_days
    if days <= 0:
        return {"signals": 0, "batches": 0}
    removed = await services.storage.prune(services.clock() - days * 86_400)
    for table, count in removed.items():
        services.metrics.pruned.inc(table, amount=count)
    log.info("retention: removed %s (older than %g days)", removed, days)
    return removed


async def _retention_loop(services: Services) -> None:
    """Every ``retention_interval`` seconds (hourly by default), run retention."""
    while True:
        await asyncio.sleep(services.settings.retention_interval)
        try:
            await run_retention(services)
        except Exception as exc:  # the next run retries; ingest must not be affected
            services.storage.outage.report(exc, log, "retention run failed")


async def _retrain_loop(services: Services, interval: float = 86_400.0) -> None:
    """Retrain every site's predictive scores daily (``rapport model train`` on demand)."""
    from rapport.server.scoring.train import train_site

    while True:
        await asyncio.sleep(interval)
        for site in await services.storage.list_sites():
            try:
                await train_site(services.storage, site.id, now=services.clock())
            except Exception as exc:
                services.storage.outage.report(exc, log, "retraining site %d failed", site.id)
