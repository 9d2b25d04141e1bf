"""Options and helpers shared by the ``rapport`` commands, defined once.

Commands that touch data take ``--database URL`` (or ``RAPPORT_DATABASE_URL``), so the
same invocations work against SQLite and PostgreSQL; site commands look the site up by name.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from rapport.server.config import DEFAULT_DATABASE_URL, SETTINGS_ENV, Settings
from rapport.server.sites.model import Site
from rapport.server.storage import InvalidDatabaseURL, Storage, create_storage, parse_database_url

__all__ = [
    "check_database_url",
    "database_option",
    "load",
    "retention_option",
    "setting_option",
    "with_site",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def database_option(default: str = DEFAULT_DATABASE_URL) -> Callable[[F], F]:
    """``--database URL`` (or ``RAPPORT_DATABASE_URL``): the one spelling every command uses."""
    return click.option(
        "--database",
        "database_url",
        envvar="RAPPORT_DATABASE_URL",
        default=default,
        show_default=True,
        show_envvar=True,
        help="sqlite:///path.db (relative), sqlite:////abs/path.db or postgresql://…",
    )


def check_database_url(url: str) -> str:
    """``url`` when it names a backend we speak; else a usage error pointing at --database."""
    try:
        parse_database_url(url)
    except InvalidDatabaseURL as exc:
        raise click.BadParameter(str(exc), param_hint="--database") from None
    return url


def with_site(database_url: str, name: str, fn: Callable[[Storage, Site], Awaitable[T]]) -> T:
    """Open the database, look the site up by NAME (an error naming it when missing) and
    run ``fn`` with both: how every ``rapport site …`` sub-command starts."""

    async def run() -> T:
        async with create_storage(database_url) as storage:
            site = await storage.site_by_name(name)
            if site is None:
                raise click.ClickException(f"no site named {name!r}")
            return await fn(storage, site)

    return asyncio.run(run())


_DEFAULTS = Settings()


def setting_option(field: str, *decls: str, **kwargs: Any) -> Callable[[F], F]:
    """An option that sets the ``Settings`` field ``field``: its environment variable and its
    default come from ``server/config.py``, so ``rapport serve`` and ``Settings.from_env``
    cannot drift apart; flags, type and help come from the caller."""
    kwargs.setdefault("default", getattr(_DEFAULTS, field))
    kwargs.setdefault("show_default", True)
    return click.option(*decls, field, envvar=SETTINGS_ENV[field], show_envvar=True, **kwargs)


def retention_option() -> Callable[[F], F]:
    """``--retention-days``, shared by ``serve`` and ``db prune``."""
    return setting_option(
        "retention_days",
        "--retention-days",
        type=click.FloatRange(min=0),
        help="Delete raw signals older than this (hourly); profiles are kept. 0 keeps all.",
    )


def load(module: str, attribute: str) -> Any:
    """Import a collaborator lazily, by name.

    ``wasm_build`` and ``demo_site`` are development tools owned elsewhere: importing them
    by name keeps ``serve`` free of their dependencies and keeps mypy on ``server/`` from
    type-checking their code.
    """
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise click.ClickException(f"{module}.{attribute} is not available: {exc}") from None
