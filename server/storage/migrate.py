"""Bring a database's schema to the newest Alembic revision, cheaply when it is there already.

Each backend's ``open()`` calls :func:`ensure_sqlite_schema` or
:func:`ensure_postgres_schema` with the driver connection it has just opened. The fast path
is one query, ``SELECT version_num FROM alembic_version``, compared with
:func:`head_revision` (the newest file in ``migrations/versions``): neither Alembic nor
SQLAlchemy is imported, so opening an up-to-date database costs what it did before Alembic.

Otherwise Alembic (imported then) upgrades to head through SQLAlchemy on the drivers the
project has (SQLite: the stdlib ``sqlite3``, sync, in a worker thread; PostgreSQL: the async
engine on asyncpg, ``connection.run_sync``, with the project's DSN handed to asyncpg as is),
all pending revisions in **one transaction** that first takes a lock:

* PostgreSQL: ``pg_advisory_xact_lock`` at READ COMMITTED. Processes starting at once queue
  there; the first applies the revisions, the others then read ``alembic_version`` at head
  and do nothing. DDL is transactional, so a failed upgrade leaves nothing behind.
* SQLite: ``BEGIN IMMEDIATE`` (the write lock, waited for up to the busy timeout); SQLite's
  DDL is transactional too.

**Adoption.** A database created by the numbered migrations that preceded Alembic has a
``schema_migrations`` table (versions 1 and 2) and no ``alembic_version``. Under the same
lock the matching revision (version N ↔ ``"000N"``) is stamped, then the upgrade goes on;
revision 0003 drops the old table, so adopted and fresh databases end up alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from rapport.server.storage.base import StorageError
from rapport.server.storage.migrations import SCRIPT_LOCATION, VERSIONS
from rapport.server.storage.urls import parse_database_url

if TYPE_CHECKING:
    import aiosqlite
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

__all__ = [
    "MIGRATION_LOCK_ID",
    "SchemaState",
    "ensure_postgres_schema",
    "ensure_sqlite_schema",
    "head_revision",
    "schema_state",
]

#: Arbitrary constant naming Rapport's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_ID: Final = 0x5241_5050  # "RAPP"
#: The numbered migrations' table, and their last version (adopted as revision "0002").
LEGACY_TABLE: Final = "schema_migrations"
LEGACY_LAST_VERSION: Final = 2
_REVISION_QUERY: Final = "SELECT version_num FROM alembic_version"
_LEGACY_QUERY: Final = f"SELECT MAX(version) FROM {LEGACY_TABLE}"


@functools.cache
def head_revision() -> str:
    """The newest revision id, from the file names ``versions/NNNN_slug.py`` (no Alembic).

    The history is linear and ids are zero-padded numbers named in their file names; a
    test checks that this agrees with Alembic's own idea of the head.
    """
    ids = [p.name.partition("_")[0] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")]
    if not ids:
        raise RuntimeError(f"no migrations found in {VERSIONS}")
    return max(ids)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What ``rapport db current`` reports; nothing is changed to find it out."""

    current: str | None
    """The applied Alembic revision; ``None`` for an empty or not yet adopted database."""
    head: str
    legacy_version: int | None = None
    """The highest numbered migration of a database from before Alembic, not yet adopted."""


# -- the fast path: one query on the backend's own connection --------------------------------


async def ensure_sqlite_schema(
    conn: aiosqlite.Connection, path: Path, *, busy_timeout: float = 5.0
) -> None:
    """Upgrade the SQLite file at ``path`` to head unless ``conn`` finds it there already."""
    if _needs_upgrade(await _sqlite_revision(conn)):
        await asyncio.to_thread(_upgrade_sqlite, path, busy_timeout)


async def ensure_postgres_schema(conn: Any, dsn: str) -> None:
    """Upgrade the database at ``dsn`` to head unless ``conn`` (asyncpg) finds it there."""
    if _needs_upgrade(await _postgres_revision(conn)):
        await _upgrade_postgres(dsn)


def _needs_upgrade(revision: str | None) -> bool:
    head = head_revision()
    if revision is not None and revision > head:  # zero-padded numbers compare as strings
        raise StorageError(
            f"the database schema is at revision {revision}, newer than this Rapport knows "
            f"(its newest is {head}): run the Rapport version that migrated it, or a newer one"
        )
    return revision != head


async def _sqlite_revision(conn: aiosqlite.Connection) -> str | None:
    try:
        async with conn.execute(_REVISION_QUERY) as cursor:
            rows = list(await cursor.fetchall())
    except sqlite3.OperationalError:  # no such table: Alembic never ran here
        return None
    return str(rows[0][0]) if rows else None


async def _postgres_revision(conn: Any) -> str | None:
    import asyncpg  # type: ignore[import-untyped]

    try:
        value = await conn.fetchval(_REVISION_QUERY)
    except asyncpg.UndefinedTableError:
        return None
    return None if value is None else str(value)


async def schema_state(url: str) -> SchemaState:
    """The applied and the newest revision of the database at ``url``, changing nothing.

    A SQLite file that does not exist is not created.
    """
    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        assert parsed.path is not None
        current, legacy = await asyncio.to_thread(_sqlite_state, parsed.path)
    else:
        assert parsed.dsn is not None
        current, legacy = await _postgres_state(parsed.dsn)
    return SchemaState(current=current, head=head_revision(), legacy_version=legacy)


def _sqlite_state(path: Path) -> tuple[str | None, int | None]:
    if not path.exists():
        return None, None
    uri = path.resolve().as_uri() + "?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        try:
            rows = conn.execute(_REVISION_QUERY).fetchall()
            if rows:
                return str(rows[0][0]), None
        except sqlite3.OperationalError:  # no such table: Alembic never ran here
            pass
        try:
            value = conn.execute(_LEGACY_QUERY).fetchone()[0]
        except sqlite3.OperationalError:  # no such table: an empty database
            return None, None
    return None, None if value is None else int(value)


async def _postgres_state(dsn: str) -> tuple[str | None, int | None]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        current = await _postgres_revision(conn)
        if current is not None:
            return current, None
        try:
            value = await conn.fetchval(_LEGACY_QUERY)
        except asyncpg.UndefinedTableError:
            return None, None
    finally:
        await conn.close()
    return None, None if value is None else int(value)


# -- the slow path: Alembic, imported only when there is something to do ----------------------


def _upgrade_locked(connection: Connection) -> None:
    """What ``alembic stamp`` (for a legacy database) and ``alembic upgrade head`` do, on
    ``connection`` inside its transaction, with the script directory parsed once a process.
    """
    from alembic.runtime.environment import EnvironmentContext
    from alembic.runtime.migration import MigrationContext, MigrationStep

    script = _script_directory()
    legacy = _legacy_version(connection)
    if legacy is not None:
        MigrationContext.configure(connection).stamp(script, f"{legacy:04d}")

    def upgrade(revision: Any, _context: MigrationContext) -> list[MigrationStep]:
        return list(script._upgrade_revs("head", revision))

    config = _alembic_config(connection)
    with EnvironmentContext(config, script, fn=upgrade, destination_rev="head"):
        script.run_env()  # env.py: configure on ``connection`` and run the migrations


@functools.cache
def _script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None))


def _legacy_version(connection: Connection) -> int | None:
    """The numbered migrations' last version, if they made this database and Alembic has not."""
    from sqlalchemy import inspect, text

    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables or LEGACY_TABLE not in tables:
        return None
    value = connection.execute(text(_LEGACY_QUERY)).scalar()
    if not value:  # created, but the first migration never committed
        return None
    if not 1 <= int(value) <= LEGACY_LAST_VERSION:
        raise RuntimeError(f"{LEGACY_TABLE} is at version {value}, which no revision matches")
    return int(value)


def _alembic_config(connection: Connection | None) -> Config:
    """Alembic's configuration, in code: the scripts are this package's ``migrations``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def _upgrade_sqlite(path: Path, busy_timeout: float) -> None:
    """The SQLite upgrade, in a worker thread on the stdlib driver (sync SQLAlchemy).

    Synchronous because every statement through aiosqlite is a hop to its thread and
    back, which tripled the time to create a fresh database (tests create hundreds).
    """
    from sqlalchemy import URL, create_engine, event
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        URL.create("sqlite", database=str(path)),
        poolclass=NullPool,
        connect_args={"timeout": busy_timeout},
    )

    # SQLAlchemy's recipe for real SQLite transactions: the driver stays in autocommit and
    # SQLAlchemy's BEGIN is ``BEGIN IMMEDIATE``, which takes the write lock at once.
    def driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    def begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", driver_autocommit)
    event.listen(engine, "begin", begin_immediate)
    try:
        with engine.connect() as connection, connection.begin():
            _upgrade_locked(connection)
    finally:
        engine.dispose()


async def _upgrade_postgres(dsn: str) -> None:
    """The PostgreSQL upgrade: SQLAlchemy's async engine on asyncpg, under the advisory lock.

    READ COMMITTED whatever the server's default, so that a process that waited for the
    lock sees what the one before it committed.
    """
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def connect() -> Any:  # the DSN as the backend uses it, not reparsed by SQLAlchemy
        return await asyncpg.connect(dsn)

    engine = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=connect,
        poolclass=NullPool,
        isolation_level="READ COMMITTED",
    )
    try:
        async with engine.connect() as conn, conn.begin():
            await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            await conn.run_sync(_upgrade_locked)
    finally:
        await engine.dispose()
