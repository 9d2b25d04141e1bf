"""The ``rapport`` command: serve the API, manage sites, build the SDK, run the demo.

Commands that touch data take ``--database URL`` (or ``RAPPORT_DATABASE_URL``), so the
same invocations work against SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from server.commands.check import check_command
from server.commands.face import face_command
from server.commands.personas import personas_command
from server.commands.tone import tone_command, train_tone_command
from server.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_DEMO_DATABASE_URL,
    REPO_ROOT,
    Settings,
    default_sdk_dir,
)
from server.hints.cli import model, playbook_command, report, webhook
from server.logs import ACCESS_LOG_IPS, LOG_FORMATS
from server.playbook.load import site_playbook
from server.report.cli import dashboard_link, login_command, report_settings_command
from server.serving import run_server
from server.sites.model import NewSite, Site
from server.sites.origins import InvalidOrigin, normalise_origin, normalise_origins
from server.storage import InvalidDatabaseURL, SiteNameTaken, create_storage, parse_database_url
from server.storage.migrate import SchemaState, schema_state

__all__ = ["add_site", "ensure_demo_site", "main"]

F = TypeVar("F", bound=Callable[..., Any])


def _database_option(default: str) -> Callable[[F], F]:
    return click.option(
        "--database",
        "database_url",
        envvar="RAPPORT_DATABASE_URL",
        default=default,
        show_default=True,
        show_envvar=True,
        help="sqlite:///path.db (relative), sqlite:////abs/path.db or postgresql://…",
    )


def _check_database_url(url: str) -> str:
    try:
        parse_database_url(url)
    except InvalidDatabaseURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    return url


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rapport")
def main() -> None:
    """Rapport: privacy-first, on-device personalization — server and tools."""


# Tools that run the on-device analysis on this machine, for site owners to check it.
main.add_command(face_command)
main.add_command(tone_command)
# Is a page ready to adapt? Headless Chromium, a fix per problem (the optional `check` extra).
main.add_command(check_command)
main.add_command(personas_command)  # scripted visitors try a live page (the testing kit)


# The hints engine (server/hints/cli.py): site playbook/webhook, report uplift, model train.
main.add_command(report)
main.add_command(model)
model.add_command(train_tone_command)  # rapport model train-tone (issue 16)


# -- serve -----------------------------------------------------------------------------------


_DEFAULTS = Settings()


def _retention_option() -> Callable[[F], F]:
    return click.option(
        "--retention-days",
        type=click.FloatRange(min=0),
        envvar="RAPPORT_RETENTION_DAYS",
        show_envvar=True,
        default=_DEFAULTS.retention_days,
        show_default=True,
        help="Delete raw signals older than this (hourly); profiles are kept. 0 keeps all.",
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@_database_option(DEFAULT_DATABASE_URL)
@click.option(
    "--sdk-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="RAPPORT_SDK_DIR",
    show_envvar=True,
    default=None,
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
@click.option(
    "--rate-per-ip",
    type=click.FloatRange(min=0),
    envvar="RAPPORT_RATE_PER_IP",
    show_envvar=True,
    default=_DEFAULTS.rate_per_ip,
    show_default=True,
    help="Requests/s per client IP on /v1/* (burst 2x); 0 disables.",
)
@click.option(
    "--rate-per-site",
    type=click.FloatRange(min=0),
    envvar="RAPPORT_RATE_PER_SITE",
    show_envvar=True,
    default=_DEFAULTS.rate_per_site,
    show_default=True,
    help="Requests/s per site key on /v1/* (burst 2x); 0 disables.",
)
@_retention_option()
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
@click.option(
    "--metrics-token",
    envvar="RAPPORT_METRICS_TOKEN",
    show_envvar=True,
    default=None,
    help="GET /metrics requires 'Authorization: Bearer <token>'; without one it answers "
    "loopback clients only.",
)
@click.option(
    "--admin-cors/--no-admin-cors",
    envvar="RAPPORT_ADMIN_CORS",
    show_envvar=True,
    default=False,
    show_default=True,
    help="Answer CORS on /v1/admin/* for the sites' origins (off: server-side callers only).",
)
@click.option(
    "--allow-private-webhooks/--no-allow-private-webhooks",
    envvar="RAPPORT_ALLOW_PRIVATE_WEBHOOKS",
    show_envvar=True,
    default=False,
    show_default=True,
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
    parsed = parse_database_url(_check_database_url(database_url))
    if workers > 1 and parsed.backend == "sqlite":
        raise click.BadParameter(
            "SQLite takes exactly one server process: each process has its own group-commit "
            "writer, and several writers on one SQLite file do not scale (p99 0.25–1.7 s) "
            "and lost acknowledged rows in measurements. Use --workers 1, or PostgreSQL "
            "(--database postgresql://…) to run several processes.",
            param_hint="--workers",
        )
    values: dict[str, Any] = {
        "database_url": database_url,
        "rate_per_ip": rate_per_ip,
        "rate_per_site": rate_per_site,
        "retention_days": retention_days,
        "metrics_token": metrics_token or None,
        "admin_cors": admin_cors,
        "allow_private_webhooks": allow_private_webhooks,
    }
    if sdk_dir is not None:
        values["sdk_dir"] = sdk_dir
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


# -- sites -------------------------------------------------------------------------------------


@main.group()
def site() -> None:
    """Register, list, re-key and remove sites."""


site.add_command(playbook_command)
site.add_command(webhook)
site.add_command(login_command)
site.add_command(report_settings_command)


async def add_site(database_url: str, name: str, origins: Sequence[str]) -> NewSite:
    """Create a site (origins already normalised) and return it with its admin token."""
    async with create_storage(database_url) as storage:
        return await storage.create_site(name, origins, now=time.time())


@site.command("add")
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="Allowed page origin, e.g. https://shop.example (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the keys.")
@_database_option(DEFAULT_DATABASE_URL)
def site_add(name: str, origins: tuple[str, ...], as_json: bool, database_url: str) -> None:
    """Create a site and print its public key and its admin token (shown only once)."""
    _check_database_url(database_url)
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="NAME")
    try:
        normalised = normalise_origins(origins)
    except InvalidOrigin as exc:
        raise click.BadParameter(str(exc), param_hint="--origin") from None
    try:
        created = asyncio.run(add_site(database_url, name.strip(), normalised))
    except SiteNameTaken as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        payload = {"site_key": created.site.site_key, "admin_token": created.admin_token}
        click.echo(json.dumps(payload))
        return
    click.echo(f"Created site {created.site.name!r} (id {created.site.id})")
    click.echo(f"  origins:     {', '.join(created.site.origins)}")
    click.echo(f"  site key:    {created.site.site_key}   (public: goes in data-site)")
    click.echo(f"  admin token: {created.admin_token}   (secret: shown only this once)")


async def _list_sites(database_url: str) -> list[Site]:
    async with create_storage(database_url) as storage:
        return await storage.list_sites()


@site.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@_database_option(DEFAULT_DATABASE_URL)
def site_list(as_json: bool, database_url: str) -> None:
    """List sites (admin tokens are never shown: only their hashes are stored)."""
    _check_database_url(database_url)
    sites = asyncio.run(_list_sites(database_url))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "name": s.name,
                        "site_key": s.site_key,
                        "origins": list(s.origins),
                        "created_at": s.created_at,
                    }
                    for s in sites
                ]
            )
        )
        return
    if not sites:
        click.echo("No sites yet: add one with `rapport site add NAME --origin URL`.")
        return
    for s in sites:
        created = datetime.fromtimestamp(s.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        click.echo(f"{s.id:>4}  {s.name}  {s.site_key}  {' '.join(s.origins)}  ({created})")


async def _rotate_key(database_url: str, name: str) -> tuple[Site, str]:
    async with create_storage(database_url) as storage:
        found = await storage.site_by_name(name)
        if found is None:
            raise click.ClickException(f"no site named {name!r}")
        return found, await storage.rotate_site_key(found.id)


@site.command("rotate-key")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help='Print {"site_key": …}.')
@_database_option(DEFAULT_DATABASE_URL)
def site_rotate_key(name: str, as_json: bool, database_url: str) -> None:
    """Give a site a new public key; the old one stops working.

    A running server notices within its site-cache TTL (5 s). Update data-site in the pages.
    """
    _check_database_url(database_url)
    found, key = asyncio.run(_rotate_key(database_url, name))
    if as_json:
        click.echo(json.dumps({"site_key": key, "previous_site_key": found.site_key}))
        return
    click.echo(f"New site key for {found.name!r}: {key}   (was {found.site_key})")


async def _remove_site(database_url: str, name: str) -> dict[str, int]:
    async with create_storage(database_url) as storage:
        found = await storage.site_by_name(name)
        if found is None:
            raise click.ClickException(f"no site named {name!r}")
        return await storage.delete_site(found.id)


@site.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_database_option(DEFAULT_DATABASE_URL)
def site_remove(name: str, yes: bool, database_url: str) -> None:
    """Delete a site and all its data (signals, batches, profiles), in one transaction."""
    _check_database_url(database_url)
    if not yes:
        click.confirm(f"Delete site {name!r} and all its data?", abort=True)
    removed = asyncio.run(_remove_site(database_url, name))
    counts = ", ".join(f"{n} {table}" for table, n in removed.items() if table != "sites")
    click.echo(f"Removed site {name!r} ({counts}).")


# -- database --------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database maintenance: migrations and retention."""


async def _upgrade(database_url: str) -> SchemaState:
    async with create_storage(database_url):  # opening applies migrations
        pass
    return await schema_state(database_url)


@db.command("upgrade")
@_database_option(DEFAULT_DATABASE_URL)
def db_upgrade(database_url: str) -> None:
    """Apply pending schema migrations (``rapport serve`` also does on start)."""
    _check_database_url(database_url)
    state = asyncio.run(_upgrade(database_url))
    click.echo(f"Database schema at revision {state.current} (head {state.head}).")


@db.command("current")
@_database_option(DEFAULT_DATABASE_URL)
def db_current(database_url: str) -> None:
    """Print the database's schema revision and the newest one; change nothing."""
    _check_database_url(database_url)
    state = asyncio.run(schema_state(database_url))
    click.echo(f"current: {state.current or 'none'}")
    click.echo(f"head: {state.head}")
    if state.legacy_version is not None:
        click.echo(
            f"The database has the pre-Alembic schema_migrations at version "
            f"{state.legacy_version}; `rapport db upgrade` adopts it."
        )
    elif state.current != state.head:
        click.echo("Pending migrations: run `rapport db upgrade` (`rapport serve` also does).")


async def _prune(database_url: str, retention_days: float) -> dict[str, int]:
    async with create_storage(database_url) as storage:
        return await storage.prune(time.time() - retention_days * 86_400)


@db.command("prune")
@_retention_option()
@_database_option(DEFAULT_DATABASE_URL)
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def db_prune(retention_days: float, database_url: str, as_json: bool) -> None:
    """Delete raw signals (and batch records) older than --retention-days; keep profiles."""
    _check_database_url(database_url)
    if retention_days <= 0:
        raise click.BadParameter("must be > 0 to prune", param_hint="--retention-days")
    removed = asyncio.run(_prune(database_url, retention_days))
    if as_json:
        click.echo(json.dumps(removed))
        return
    click.echo(
        f"Removed {removed['signals']} signals and {removed['batches']} batch records "
        f"older than {retention_days:g} days."
    )


# -- SDK ------------------------------------------------------------------------------------------


def _load(module: str, attribute: str) -> Any:
    """Import a collaborator lazily, by name.

    ``wasm_build`` and ``demo_site`` are development tools owned elsewhere: importing them
    by name keeps ``serve`` free of their dependencies and keeps mypy on ``server/`` from
    type-checking their code.
    """
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise click.ClickException(f"{module}.{attribute} is not available: {exc}") from None


def _build_sdk(out_dir: Path) -> Path:
    build_sdk: Callable[[Path], Path] = _load("wasm_build.build", "build_sdk")
    try:
        return Path(build_sdk(out_dir))
    except Exception as exc:  # the builder's own errors say what to fix (npm ci, …)
        raise click.ClickException(f"SDK build failed: {exc}") from exc


@main.command("build-sdk")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output directory [default: wasm_build/dist in the repo].",
)
def build_sdk_command(out_dir: Path | None) -> None:
    """Build the browser SDK bundle (what /sdk/ serves)."""
    built = _build_sdk(out_dir or default_sdk_dir())
    click.echo(f"SDK built: {built}")


# -- demo -------------------------------------------------------------------------------------

DEMO_SITE_NAME = "Demo shop"


#: The demo's playbook: the defaults without a holdout, so every demo visitor sees the shop adapt.
DEMO_PLAYBOOK = REPO_ROOT / "demo_site" / "playbook.toml"


async def ensure_demo_site(database_url: str, origin: str) -> Site:
    """The "Demo shop" site, created if missing, with ``origin`` among its origins and the
    demo playbook (no control group)."""
    playbook = DEMO_PLAYBOOK.read_text("utf-8")
    site_playbook(playbook, str(DEMO_PLAYBOOK))  # validated like any site's file
    async with create_storage(database_url) as storage:
        site = await storage.site_by_name(DEMO_SITE_NAME)
        if site is None:
            site = (await storage.create_site(DEMO_SITE_NAME, [origin], now=time.time())).site
        elif origin not in site.origins:
            origins = (*site.origins, origin)
            await storage.set_site_origins(site.id, origins)
            site = Site(
                id=site.id,
                name=site.name,
                site_key=site.site_key,
                origins=origins,
                created_at=site.created_at,
            )
        await storage.set_site_config(site.id, "playbook", playbook, now=time.time())
        return site


async def _demo_dashboard_link(database_url: str, site: Site, api: str) -> str:
    async with create_storage(database_url) as storage:
        return await dashboard_link(storage, site, api)


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--demo-port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@_database_option(DEFAULT_DEMO_DATABASE_URL)
@click.option(
    "--seed/--no-seed",
    default=True,
    show_default=True,
    help="Run simulated visitors (persona drivers) in the background so the dashboard has data.",
)
def demo(port: int, demo_port: int, database_url: str, seed: bool) -> None:
    """Run the API and the demo shop together, building the SDK first if needed."""
    _check_database_url(database_url)
    if port == demo_port:
        raise click.BadParameter("must differ from --port", param_hint="--demo-port")
    serve_demo = _load("demo_site.server", "serve_demo")

    sdk_dir = default_sdk_dir()
    if not (sdk_dir / "manifest.json").is_file():
        click.echo("Building the SDK (first run)…")
        _build_sdk(sdk_dir)
    parsed = parse_database_url(database_url)
    if parsed.path is not None:
        parsed.path.parent.mkdir(parents=True, exist_ok=True)

    origin = normalise_origin(f"http://localhost:{demo_port}")
    demo_site = asyncio.run(ensure_demo_site(database_url, origin))
    api = f"http://127.0.0.1:{port}"
    httpd = serve_demo(
        host="localhost", port=demo_port, sdk_base=f"{api}/sdk", site_key=demo_site.site_key
    )
    click.echo(f"Demo shop:  http://localhost:{demo_port}/   ← open this")
    click.echo(f"API:        {api}  (OpenAPI: {api}/schema, health: {api}/healthz)")
    click.echo(f"Site key:   {demo_site.site_key}")
    click.echo(f"Dashboard:  {asyncio.run(_demo_dashboard_link(database_url, demo_site, api))}")
    click.echo(
        "            (signed in: a one-time link, valid 10 minutes; later: rapport site login)"
    )
    if seed:
        _load("demo_site.seed", "seed_in_background")(
            f"http://localhost:{demo_port}", api, echo=click.echo
        )
    click.echo("Ctrl+C stops both.")
    try:
        run_server(
            Settings(database_url=database_url, sdk_dir=sdk_dir),
            host="127.0.0.1",
            port=port,
            log_level="info",
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
