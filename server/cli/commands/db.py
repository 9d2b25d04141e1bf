"""``rapport db upgrade|current|prune``: migrations and retention."""

from __future__ import annotations

import asyncio
import json
import time

import click

from rapport.server.cli.options import check_database_url, database_option, retention_option
from rapport.server.storage import create_storage
from rapport.server.storage.migrate import SchemaState, schema_state

__all__ = ["db"]


@click.group()
def db() -> None:
    """Database maintenance: migrations and retention."""


async def _upgrade(database_url: str) -> SchemaState:
    async with create_storage(database_url):  # opening applies migrations
        pass
    return await schema_state(database_url)


@db.command("upgrade")
@database_option()
def db_upgrade(database_url: str) -> None:
    """Apply pending schema migrations (``rapport serve`` also does on start)."""
    check_database_url(database_url)
    state = asyncio.run(_upgrade(database_url))
    click.echo(f"Database schema at revision {state.current} (head {state.head}).")


@db.command("current")
@database_option()
def db_current(database_url: str) -> None:
    """Print the database's schema revision and the newest one; change nothing."""
    check_database_url(database_url)
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
@retention_option()
@database_option()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def db_prune(retention_days: float, database_url: str, as_json: bool) -> None:
    """Delete raw signals (and batch records) older than --retention-days; keep profiles."""
    check_database_url(database_url)
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
