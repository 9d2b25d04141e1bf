"""``rapport serve``: run the API server."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from rapport.server.cli.options import (
    check_database_url,
    database_option,
    retention_option,
    setting_option,
)
from rapport.server.config import Settings
from rapport.server.logs import ACCESS_LOG_IPS, LOG_FORMATS
from rapport.server.serving import run_server
from rapport.server.storage import parse_database_url

__all__ = ["serve"]

_SETTINGS_FIELDS = frozenset(field.name for field in dataclasses.fields(Settings))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@database_option()
@setting_option(
    "sdk_dir",
    "--sdk-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default=False,
    help="Built SDK bundle served under /sdk/ [default: wasm_build/dist in the repo].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    envvar="RAPPORT_WORKERS",
    show_envvar=True,
    help="Server processes (PostgreSQL only: SQLite takes exactly one).",
)
@setting_option(
    "rate_per_ip",
    "--rate-per-ip",
    type=click.FloatRange(min=0),
    help="Requests/s per client IP on /v1/* (burst 2x); 0 disables.",
)
@setting_option(
    "rate_per_site",
    "--rate-per-site",
    type=click.FloatRange(min=0),
    help="Requests/s per site key on /v1/* (burst 2x); 0 disables.",
)
@retention_option()
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    envvar="RAPPORT_LOG_FORMAT",
    show_envvar=True,
    default="text",
    show_default=True,
    help="json: one JSON object per line.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log one line per request (costs throughput).",
)
@click.option(
    "--access-log-ip",
    type=click.Choice(ACCESS_LOG_IPS),
    envvar="RAPPORT_ACCESS_LOG_IP",
    show_envvar=True,
    default="none",
    show_default=True,
    help="Client address in access-log lines: none ('-'), hash (keyed per process), or full. "
    "Lines carry visitor ids in their paths; an IP next to them is personal data.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="RAPPORT_TRUSTED_PROXY",
    show_envvar=True,
    metavar="IP|CIDR",
    help="A reverse proxy whose X-Forwarded-For names the client (repeatable). Without one, "
    "the client is the connection's peer and X-Forwarded-For is ignored.",
)
@setting_option(
    "metrics_token",
    "--metrics-token",
    show_default=False,
    help="GET /metrics requires 'Authorization: Bearer <token>'; without one it answers "
    "loopback clients only.",
)
@setting_option(
    "admin_cors",
    "--admin-cors/--no-admin-cors",
    help="Answer CORS on /v1/admin/* for the sites' origins (off: server-side callers only).",
)
@setting_option(
    "allow_private_webhooks",
    "--allow-private-webhooks/--no-allow-private-webhooks",
    help="Deliver webhooks to loopback, private and link-local addresses.",
)
def serve(
    host: str,
    port: int,
    database_url: str,
    sdk_dir: Path | None,
    workers: int,
    rate_per_ip: float,
    rate_per_site: float,
    retention_days: float,
    log_level: str,
    log_format: str,
    access_log: bool,
    access_log_ip: str,
    trusted_proxies: tuple[str, ...],
    metrics_token: str | None,
    admin_cors: bool,
    allow_private_webhooks: bool,
) -> None:
    """Run the API server (applies migrations on start; drains writes on shutdown).

    Run one process per SQLite file; use PostgreSQL for several processes.
    """
    parsed = parse_database_url(check_database_url(database_url))
    if workers > 1 and parsed.backend == "sqlite":
        raise click.BadParameter(
            "SQLite takes exactly one server process: each process has its own group-commit "
            "writer, and several writers on one SQLite file do not scale (p99 0.25–1.7 s) "
            "and lost acknowledged rows in measurements. Use --workers 1, or PostgreSQL "
            "(--database postgresql://…) to run several processes.",
            param_hint="--workers",
        )
    # Every option named after a Settings field sets it; unset ones keep Settings' default.
    values: dict[str, Any] = {
        name: value
        for name, value in click.get_current_context().params.items()
        if name in _SETTINGS_FIELDS and value not in (None, "")
    }
    run_server(
        Settings(**values),
        host=host,
        port=port,
        log_level=log_level,
        log_format=log_format,
        workers=workers,
        access_log=access_log,
        access_log_ip=access_log_ip,
        trusted_proxies=trusted_proxies,
    )
