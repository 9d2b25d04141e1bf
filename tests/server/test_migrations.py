"""Schema migrations (Alembic): fresh databases, the CLI, adoption of legacy databases,
concurrent upgrades — on SQLite and PostgreSQL alike (see ``database_url``)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import pytest
from click.testing import CliRunner

from rapport.server import cli
from rapport.server.config import REPO_ROOT
from rapport.server.storage import StorageError, create_storage, parse_database_url
from rapport.server.storage.migrate import head_revision, schema_state
from rapport.server.storage.migrations import SCRIPT_LOCATION, VERSIONS
from tests.server.legacy_migrations import create_legacy_postgres, create_legacy_sqlite

TABLES = {
    "sites", "batches", "signals", "profiles",
    "site_config", "hint_feedback", "hint_log", "webhooks", "webhook_deliveries",
}  # fmt: skip
BOOKKEEPING = {"alembic_version", "schema_migrations"}
#: Tables of revisions after the numbered migrations (report rollups, dashboard sign-in: 0005).
LATER_TABLES = {"report_rollup", "report_reach", "dashboard_sessions", "dashboard_links"}


def tables_at_head(url: str) -> set[str]:
    """PostgreSQL's ``signals`` is a view since 0009, over ``signal_rows`` (older batches'
    signals) and ``batches`` (each batch's array)."""
    extra = LATER_TABLES | {"alembic_version"}
    if url.startswith("sqlite"):
        return TABLES | extra
    return TABLES - {"signals"} | {"signal_rows"} | extra


def drop_head(url: str) -> list[str]:
    """Statements that drop every table of a database at head (its views first)."""
    views = [] if url.startswith("sqlite") else ["DROP VIEW signals"]
    return views + [f"DROP TABLE {t}" for t in tables_at_head(url)]


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        async with aiosqlite.connect(parsed.path) as conn, conn.execute(sql) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]
    conn = await asyncpg.connect(parsed.dsn)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def tables(url: str) -> set[str]:
    if url.startswith("sqlite"):
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    else:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    return {str(row[0]) for row in await query(url, sql)}


async def schema(url: str) -> set[tuple[Any, ...]]:
    """Every table, column, constraint and index, bookkeeping and later tables left out."""
    if url.startswith("sqlite"):
        rows = await query(url, "SELECT type, name, tbl_name, sql FROM sqlite_master")
        return {
            (kind, name, table, " ".join(sql.split()) if sql else None)
            for kind, name, table, sql in rows
            if table not in BOOKKEEPING | LATER_TABLES
        }
    found: set[tuple[Any, ...]] = set()
    for sql in (
        "SELECT table_name, column_name, ordinal_position, data_type, is_nullable, "
        "column_default, is_identity, identity_generation FROM information_schema.columns "
        "WHERE table_schema = current_schema()",
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
        "SELECT table_name, constraint_name, constraint_type "
        "FROM information_schema.table_constraints WHERE table_schema = current_schema() "
        "AND constraint_type <> 'CHECK'",  # NOT NULL ones, named by OID; columns cover them
    ):
        found |= {row for row in await query(url, sql) if row[0] not in BOOKKEEPING | LATER_TABLES}
    return found


async def create_legacy(url: str, up_to: int) -> None:
    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        assert parsed.path is not None
        await create_legacy_sqlite(parsed.path, up_to)
    else:
        await create_legacy_postgres(str(parsed.dsn), up_to)


async def execute(url: str, *statements: str) -> None:
    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        async with aiosqlite.connect(parsed.path) as conn:
            for sql in statements:
                await conn.execute(sql)
            await conn.commit()
        return
    conn = await asyncpg.connect(parsed.dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


# -- revisions ------------------------------------------------------------------------------


def test_revision_files_form_one_numbered_line_that_alembic_agrees_with() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(SCRIPT_LOCATION))
    revisions = list(reversed(list(script.walk_revisions())))
    ids = [r.revision for r in revisions]
    assert ids == [f"{n:04d}" for n in range(1, len(ids) + 1)]
    assert [r.down_revision for r in revisions] == [None, *ids[:-1]]
    assert all(Path(str(r.path)).name.startswith(f"{r.revision}_") for r in revisions)
    assert len(list(VERSIONS.glob("*.py"))) == len(ids)
    assert script.get_heads() == [head_revision()] == [ids[-1]]


# -- fresh databases -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_fresh_database_is_created_at_head(database_url: str) -> None:
    async with create_storage(database_url) as storage:
        assert await storage.schema_version() == int(head_revision())
    assert (await schema_state(database_url)).current == head_revision()
    assert await tables(database_url) == tables_at_head(database_url)
    assert await query(database_url, "SELECT version_num FROM alembic_version") == [
        (head_revision(),)
    ]
    if database_url.startswith("sqlite"):
        indexed = await query(
            database_url,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'signals'",
        )
        without_rowid = {
            row[0]
            for row in await query(database_url, "SELECT name, sql FROM sqlite_master")
            if row[1] and "WITHOUT ROWID" in row[1]
        }
        assert without_rowid == {"batches", "profiles", "report_rollup", "report_reach"}
    else:
        indexed = await query(
            database_url, "SELECT indexname FROM pg_indexes WHERE tablename = 'signal_rows'"
        )
        types = await query(
            database_url,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'jsonb' ORDER BY 1, 2",
        )
        assert types == [
            ("profiles", "data"), ("signal_rows", "body"), ("signals", "body"), ("sites", "origins")
        ]  # fmt: skip
        # A batch's signals are its row's JSON array, kept as the text that arrived (0009).
        assert await query(
            database_url,
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'batches' AND column_name = 'signals'",
        ) == [("text",)]
    # No secondary index on the raw table (0007 dropped 0004's visitor index, which halved
    # ingest): export and erasure find a visitor's signals through the batches' id spans.
    # PostgreSQL's primary key on the id grows at its right edge.
    assert indexed == ([] if database_url.startswith("sqlite") else [("signal_rows_pkey",)])


@pytest.mark.anyio
async def test_revisions_build_exactly_the_schema_of_the_numbered_migrations(
    database_url: str,
) -> None:
    await create_legacy(database_url, up_to=2)
    legacy = await schema(database_url)
    assert {
        row[0] for row in await query(database_url, "SELECT version FROM schema_migrations")
    } == {1, 2}
    await execute(database_url, *(f"DROP TABLE {t}" for t in TABLES | {"schema_migrations"}))
    assert await tables(database_url) == set()
    async with create_storage(database_url):
        pass
    # Revisions after 0003 change the schema: compare with the legacy database adopted and
    # upgraded by the same code.
    fresh = await schema(database_url)
    await execute(database_url, *drop_head(database_url))
    await create_legacy(database_url, up_to=2)
    async with create_storage(database_url):
        pass
    assert await schema(database_url) == fresh
    assert len(legacy) > len(TABLES)  # tables, indexes (and on PostgreSQL columns)


@pytest.mark.anyio
async def test_a_failed_upgrade_leaves_nothing_behind(database_url: str) -> None:
    await execute(database_url, "CREATE TABLE sites (id INTEGER PRIMARY KEY)")
    with pytest.raises(Exception, match=r"(?i)already exists"):
        async with create_storage(database_url):
            pass
    assert await tables(database_url) == {"sites"}  # no half-built schema, no version row


@pytest.mark.anyio
async def test_a_database_newer_than_the_code_is_refused_untouched(database_url: str) -> None:
    async with create_storage(database_url):
        pass
    await execute(database_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StorageError, match="revision 9999, newer than this Rapport knows"):
        async with create_storage(database_url):
            pass
    assert (await schema_state(database_url)).current == "9999"


# -- legacy databases (the numbered migrations before Alembic) --------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("legacy_version", [1, 2])
async def test_a_legacy_database_is_adopted_with_its_data(
    database_url: str, legacy_version: int
) -> None:
    await create_legacy(database_url, up_to=legacy_version)
    await execute(
        database_url,
        "INSERT INTO sites (name, site_key, admin_token_hash, origins, created_at) "
        "VALUES ('Old shop', 'pk_legacy', 'x', '[\"https://shop.example\"]', 1.0)",
    )
    state = await schema_state(database_url)
    assert (state.current, state.legacy_version) == (None, legacy_version)

    async with create_storage(database_url) as storage:
        assert await storage.schema_version() == int(head_revision())
        site = await storage.site_by_key("pk_legacy")
        assert site is not None and site.origins == ("https://shop.example",)
    # schema_migrations dropped
    assert await tables(database_url) == tables_at_head(database_url)
    state = await schema_state(database_url)
    assert (state.current, state.legacy_version) == (head_revision(), None)


# -- the CLI -----------------------------------------------------------------------------------


def test_db_upgrade_is_idempotent_and_db_current_reports_it(database_url: str) -> None:
    head = head_revision()
    before = run("db", "current", "--database", database_url)
    assert before.output.splitlines()[:2] == ["current: none", f"head: {head}"]
    assert "rapport db upgrade" in before.output
    for _ in range(2):
        upgraded = run("db", "upgrade", "--database", database_url)
        assert upgraded.exit_code == 0
        assert upgraded.output == f"Database schema at revision {head} (head {head}).\n"
    current = run("db", "current", "--database", database_url)
    assert current.exit_code == 0
    assert current.output == f"current: {head}\nhead: {head}\n"


def test_db_current_changes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    assert run("db", "current", "--database", f"sqlite:///{missing}").exit_code == 0
    assert not missing.exists()  # not created by looking

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    asyncio.run(create_legacy(url, up_to=2))
    before = asyncio.run(schema(url)), asyncio.run(tables(url))
    result = run("db", "current", "--database", url)
    assert result.output.startswith("current: none\n")
    assert "schema_migrations at version 2" in result.output
    assert "rapport db upgrade` adopts it" in result.output
    assert (asyncio.run(schema(url)), asyncio.run(tables(url))) == before


# -- concurrency and cost ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_upgrades_of_a_fresh_database_apply_it_once(database_url: str) -> None:
    """Also a brand-new SQLite file: connections switching it to WAL at the same moment wait
    for each other instead of failing with "database is locked"."""

    async def open_and_read() -> int:
        async with create_storage(database_url) as storage:
            return await storage.schema_version()

    assert await asyncio.gather(*(open_and_read() for _ in range(4))) == [int(head_revision())] * 4
    assert await query(database_url, "SELECT version_num FROM alembic_version") == [
        (head_revision(),)
    ]


def test_server_processes_starting_at_once_on_postgresql_migrate_once(postgres_url: str) -> None:
    """Separate processes race to the advisory lock; all finish at head, none fails."""
    command = [sys.executable, "-m", "rapport.server", "db", "upgrade", "--database", postgres_url]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    head = head_revision()
    assert all(f"revision {head} (head {head})" in out for out in outputs), outputs
    rows = asyncio.run(query(postgres_url, "SELECT version_num FROM alembic_version"))
    assert rows == [(head,)]


def test_opening_an_up_to_date_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fast.db'}"
    assert run("db", "upgrade", "--database", url).exit_code == 0
    script = (
        "import asyncio, sys\n"
        "from rapport.server.storage import create_storage\n"
        "async def main():\n"
        f"    async with create_storage({url!r}) as storage:\n"
        "        print(await storage.schema_version())\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in ('alembic', 'sqlalchemy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split("\n")[:2] == [str(int(head_revision())), "[]"]


def test_0006_turns_reach_rows_per_cell_into_one_bitmap_per_visitor_hour(tmp_path: Path) -> None:
    import sqlite3

    import sqlalchemy as sa
    from alembic import command

    from rapport.server.report.cells import cell_names, from_words
    from rapport.server.storage.migrate import _alembic_config

    path = tmp_path / "reach.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0005")
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO report_reach VALUES (?, ?, ?, ?)", [
            (1, 10, "visit", "a"), (1, 10, "pattern:hesitant", "a"), (1, 11, "visit", "a"),
            (1, 10, "topic:price", "b")])  # fmt: skip
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT site_id, hour, visitor, w0, w1, w2, w3 FROM report_reach "
                          "ORDER BY visitor, hour").fetchall()  # fmt: skip
    engine.dispose()
    cells = [(h, v, cell_names(from_words(w))) for _, h, v, *w in rows]
    assert cells == [
        (10, "a", {"visit", "pattern:hesitant"}), (11, "a", {"visit"}), (10, "b", {"topic:price"})
    ]  # fmt: skip
