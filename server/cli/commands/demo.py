"""``rapport demo``: the API and the demo shop together."""

from __future__ import annotations

import asyncio
import time

import click

from rapport.server.cli.commands.build_sdk import build_bundle
from rapport.server.cli.commands.hints import dashboard_link
from rapport.server.cli.options import check_database_url, database_option, load
from rapport.server.config import DEFAULT_DEMO_DATABASE_URL, REPO_ROOT, Settings, default_sdk_dir
from rapport.server.playbook.load import site_playbook
from rapport.server.serving import run_server
from rapport.server.sites import config_store
from rapport.server.sites.model import Site
from rapport.server.sites.origins import normalise_origin
from rapport.server.storage import create_storage, parse_database_url

__all__ = ["demo", "ensure_demo_site"]

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
        await config_store.set_site_config(storage, site.id, "playbook", playbook, now=time.time())
        return site


async def _demo_dashboard_link(database_url: str, site: Site, api: str) -> str:
    async with create_storage(database_url) as storage:
        return await dashboard_link(storage, site, api)


@click.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--demo-port", default=8001, show_default=True, type=click.IntRange(1, 65535))
@database_option(DEFAULT_DEMO_DATABASE_URL)
@click.option(
    "--seed/--no-seed",
    default=True,
    show_default=True,
    help="Run simulated visitors (persona drivers) in the background so the dashboard has data.",
)
def demo(port: int, demo_port: int, database_url: str, seed: bool) -> None:
    """Run the API and the demo shop together, building the SDK first if needed."""
    check_database_url(database_url)
    if port == demo_port:
        raise click.BadParameter("must differ from --port", param_hint="--demo-port")
    serve_demo = load("rapport.demo_site.server", "serve_demo")

    sdk_dir = default_sdk_dir()
    if not (sdk_dir / "manifest.json").is_file():
        click.echo("Building the SDK (first run)…")
        build_bundle(sdk_dir)
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
        load("rapport.demo_site.seed", "seed_in_background")(
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
