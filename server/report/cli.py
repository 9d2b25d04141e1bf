"""``rapport site login NAME`` (a one-time dashboard link) and ``rapport site report-settings``.

Registered in ``server/cli.py`` under ``site``.
"""

from __future__ import annotations

import time

import click

from server.dashboard.auth import LINK_TTL, create_link
from server.hints.cli import _db, _with_site
from server.report.settings import InvalidReportSettings, set_report_settings
from server.sites.model import Site
from server.storage import Storage

__all__ = ["dashboard_link", "login_command", "report_settings_command"]


async def dashboard_link(storage: Storage, site: Site, base_url: str) -> str:
    """A fresh one-time sign-in link to the dashboard of ``site`` on ``base_url``."""
    token = await create_link(storage, site, now=time.time())
    return f"{base_url.rstrip('/')}/dashboard/link/{token}"


@click.command("login")
@click.argument("name")
@click.option(
    "--url",
    "base_url",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="RAPPORT_PUBLIC_URL",
    show_envvar=True,
    help="Where the server is reached from your browser.",
)
@_db
def login_command(name: str, base_url: str, database_url: str) -> None:
    """Print a one-time link that signs you in to the site's dashboard."""
    link = _with_site(database_url, name, lambda s, site: dashboard_link(s, site, base_url))
    click.echo(link)
    click.echo(f"(works once, for {int(LINK_TTL // 60)} minutes)", err=True)


@click.command("report-settings")
@click.argument("name")
@click.option("--k", type=int, default=None, help="Hide numbers about fewer than k visitors (≥ 2).")
@click.option(
    "--timezone", default=None, help="IANA zone of the daily buckets, e.g. Europe/Berlin."
)
@_db
def report_settings_command(
    name: str, k: int | None, timezone: str | None, database_url: str
) -> None:
    """Show or change the report's k (default 5, minimum 2) and time zone (default UTC)."""

    async def run(storage: Storage, site: Site) -> str:
        try:
            settings = await set_report_settings(
                storage, site.id, k=k, timezone=timezone, now=time.time()
            )
        except InvalidReportSettings as exc:
            raise click.BadParameter(str(exc)) from None
        return f"k = {settings.k}, timezone = {settings.timezone}"

    click.echo(_with_site(database_url, name, run))
