"""``rapport site add|list|rotate-key|remove``: register and manage sites.

The group's other sub-commands (playbook, webhook, login, report-settings) live beside their
domains' commands and are registered in ``server/cli/main.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from rapport.server.cli.options import check_database_url, database_option
from rapport.server.sites.model import NewSite, Site
from rapport.server.sites.origins import InvalidOrigin, normalise_origins
from rapport.server.storage import SiteNameTaken, create_storage

__all__ = ["add_site", "site"]


@click.group()
def site() -> None:
    """Register, list, re-key and remove sites."""


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
@database_option()
def site_add(name: str, origins: tuple[str, ...], as_json: bool, database_url: str) -> None:
    """Create a site and print its public key and its admin token (shown only once)."""
    check_database_url(database_url)
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
@database_option()
def site_list(as_json: bool, database_url: str) -> None:
    """List sites (admin tokens are never shown: only their hashes are stored)."""
    check_database_url(database_url)
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
@database_option()
def site_rotate_key(name: str, as_json: bool, database_url: str) -> None:
    """Give a site a new public key; the old one stops working.

    A running server notices within its site-cache TTL (5 s). Update data-site in the pages.
    """
    check_database_url(database_url)
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
@database_option()
def site_remove(name: str, yes: bool, database_url: str) -> None:
    """Delete a site and all its data (signals, batches, profiles), in one transaction."""
    check_database_url(database_url)
    if not yes:
        click.confirm(f"Delete site {name!r} and all its data?", abort=True)
    removed = asyncio.run(_remove_site(database_url, name))
    counts = ", ".join(f"{n} {table}" for table, n in removed.items() if table != "sites")
    click.echo(f"Removed site {name!r} ({counts}).")
