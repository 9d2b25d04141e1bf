"""Issue 18: a visitor's signals are found through their batches (each ``batches`` row records
the id span of its signals; migration 0007 dropped the visitor index on ``signals``), erase
and export still find every one of them — on SQLite and on PostgreSQL — and an erase that dies
midway is finished by the next one."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, Storage, StoredSignal, StoredSignals, create_storage
from rapport.server.storage import sqlite as sqlite_backend
from rapport.server.storage.base import StorageError
from rapport.server.storage.visitor_tables import visitor_table
from tests.server.test_migrations import execute, query

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"


def batch(site_id: int, visitor: str, batch_id: str, count: int) -> IngestBatch:
    return IngestBatch(
        site_id=site_id, visitor=visitor, session="session-0001", batch_id=batch_id,
        received_at=time.time(),
        signals=StoredSignals.of(
            [StoredSignal("clicks", f'{{"kind":"clicks","count":{n}}}') for n in range(count)]
        ),
        observations=Observations(),
    )  # fmt: skip


async def exported(storage: Storage, site_id: int, visitor: str) -> list[tuple[Any, ...]]:
    async with storage.visitor_reader(site_id, visitor) as reader:
        return [
            row
            for rows in [r async for r in reader.rows(
                visitor_table("signals"), offset=0, limit=1_000_000, chunk=100)]
            for row in rows
        ]  # fmt: skip


async def stored(storage: Storage, site_id: int, visitor: str) -> int:
    rows = await storage.sql_fetch(
        "SELECT COUNT(*) FROM signals WHERE site_id = ? AND visitor = ?", (site_id, visitor)
    )
    return int(rows[0][0])


async def test_each_batch_records_the_span_of_its_own_signals(database_url: str) -> None:
    async with create_storage(database_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        group = [batch(site.id, "a", "b-1", 3), batch(site.id, "b", "b-2", 0),
                 batch(site.id, "a", "b-1", 3), batch(site.id, "b", "b-3", 2)]  # fmt: skip
        await asyncio.gather(*(storage.ingest(b) for b in group))  # one group commit
        id_column = "rowid" if storage.backend == "sqlite" else "id"
        for batch_id, count in (("b-1", 3), ("b-2", 0), ("b-3", 2)):
            (first, last), *_ = await storage.sql_fetch(
                "SELECT first_signal, last_signal FROM batches WHERE batch_id = ?", (batch_id,)
            )
            ids = [r[0] for r in await storage.sql_fetch(
                f"SELECT {id_column} FROM signals WHERE batch_id = ?", (batch_id,))]  # fmt: skip
            assert len(ids) == count
            assert (first, last) == ((min(ids), max(ids)) if ids else (None, None))


async def test_a_large_group_keeps_every_signal_of_each_batch_in_order(
    database_url: str,
) -> None:
    """SQLite splits each batch's JSON array into rows itself (``json_each``), PostgreSQL
    copies a row per signal: 1,300 signals in one group, none lost, none doubled, each
    batch's in its order and its span covering exactly its own."""
    async with create_storage(database_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        group = [batch(site.id, f"v{n % 7}", f"g-{n}", 26) for n in range(50)]
        await asyncio.gather(*(storage.ingest(b) for b in group))
        id_column = "rowid" if storage.backend == "sqlite" else "id"
        rows = await storage.sql_fetch(
            f"SELECT batch_id, kind, body FROM signals ORDER BY {id_column}"
        )
        assert len(rows) == 50 * 26
        for n in range(50):
            mine = [(k, json.loads(body)) for batch_id, k, body in rows if batch_id == f"g-{n}"]
            assert mine == [("clicks", {"kind": "clicks", "count": i}) for i in range(26)]
            (first, last), *_ = await storage.sql_fetch(
                "SELECT first_signal, last_signal FROM batches WHERE batch_id = ?", (f"g-{n}",)
            )
            ids = [r[0] for r in await storage.sql_fetch(
                f"SELECT {id_column} FROM signals WHERE batch_id = ?", (f"g-{n}",))]  # fmt: skip
            assert (first, last) == (min(ids), max(ids))


async def test_erase_and_export_find_every_signal_when_spans_interleave(
    database_url: str,
) -> None:
    """Ids handed to concurrent PostgreSQL processes interleave, so a batch's span may hold
    other batches' signals (another visitor's, or the same visitor's other batch): export
    shows each of the visitor's signals once, erase removes exactly the visitor's."""
    async with create_storage(database_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        for n in range(4):
            await storage.ingest(batch(site.id, "a", f"a-{n}", 5))
            await storage.ingest(batch(site.id, "b", f"b-{n}", 3))
        # Every span of both visitors now covers every signal of the table.
        await storage.sql_execute(
            "UPDATE batches SET first_signal = (SELECT MIN(first_signal) FROM batches), "
            "last_signal = (SELECT MAX(last_signal) FROM batches)"
        )
        rows = await exported(storage, site.id, "a")  # kind, body, batch_id, session, at
        assert sorted((r[2], json.loads(r[1])["count"]) for r in rows) == sorted(
            (f"a-{n}", k) for n in range(4) for k in range(5)
        )

        removed = await storage.erase_visitor(site.id, "a")
        assert (removed["signals"], removed["batches"]) == (20, 4)
        assert await stored(storage, site.id, "a") == 0
        assert await stored(storage, site.id, "b") == 12
        assert len(await exported(storage, site.id, "b")) == 12
        assert (await storage.erase_visitor(site.id, "b"))["signals"] == 12
        assert await stored(storage, site.id, "b") == 0


async def test_two_postgres_processes_writing_one_visitor_lose_no_signal_to_erase(
    database_url: str,
) -> None:
    """Two storages (two processes) take ids from one sequence at once, so their groups'
    spans interleave; the visitor's export and erase still see each signal exactly once."""
    if database_url.startswith("sqlite"):
        pytest.skip("one process per SQLite file")
    async with create_storage(database_url) as one, create_storage(database_url) as two:
        site = (await one.create_site("S", [ORIGIN], now=time.time())).site
        await asyncio.gather(*(
            (one, two)[n % 2].ingest(batch(site.id, "ab"[n % 3 % 2], f"c-{n}", 7))
            for n in range(120)
        ))  # fmt: skip
        a_signals = await stored(one, site.id, "a")
        assert len(await exported(two, site.id, "a")) == a_signals == 7 * 80
        assert (await two.erase_visitor(site.id, "a"))["signals"] == a_signals
        assert await stored(one, site.id, "a") == 0
        assert len(await exported(one, site.id, "b")) == await stored(one, site.id, "b") == 7 * 40


async def test_postgres_writers_take_ids_in_blocks_so_each_span_holds_only_its_batch(
    database_url: str,
) -> None:
    """Migration 0008: every ``nextval`` reserves a block of 4,096 ids for one writer, so two
    processes writing at once never interleave inside a batch's span, and 120 batches of 7
    signals cost each process one call to the sequence."""
    if database_url.startswith("sqlite"):
        pytest.skip("one process per SQLite file")
    async with create_storage(database_url) as one, create_storage(database_url) as two:
        site = (await one.create_site("S", [ORIGIN], now=time.time())).site
        (increment, before), *_ = await one.sql_fetch(
            "SELECT increment_by, last_value FROM pg_sequences "
            "WHERE sequencename = 'signals_id_seq'"
        )
        assert increment == 4096
        await asyncio.gather(*(
            (one, two)[n % 2].ingest(batch(site.id, f"v{n % 5}", f"d-{n}", 7))
            for n in range(120)
        ))  # fmt: skip
        spans = await one.sql_fetch(
            "SELECT b.batch_id, b.last_signal - b.first_signal + 1, "
            "(SELECT COUNT(*) FROM signals s WHERE s.id BETWEEN b.first_signal AND "
            "b.last_signal) FROM batches b"
        )
        assert len(spans) == 120
        assert all(width == inside == 7 for _, width, inside in spans)
        ((after,),) = await one.sql_fetch(
            "SELECT last_value FROM pg_sequences WHERE sequencename = 'signals_id_seq'"
        )
        assert after - (before or 1 - increment) == 2 * increment  # one block per process


async def test_0008_new_signal_ids_follow_those_stored_before_it(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite takes the next rowid; 0008 changes nothing there")
    await upgrade_to(database_url, "0007")
    await execute(database_url, "SELECT setval('signals_id_seq', 1000)")  # ids used at 0007
    async with create_storage(database_url) as storage:  # upgrades to head
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        await storage.ingest(batch(site.id, "a", "y-1", 3))
        ids = [r[0] for r in await storage.sql_fetch("SELECT id FROM signals ORDER BY id")]
        assert len(ids) == 3 and ids[0] > 1000
        assert ids == list(range(ids[0], ids[0] + 3))


async def test_an_erase_that_dies_midway_is_finished_by_the_next(tmp_path: Path) -> None:
    """SQLite erases a few batches at a time, each step committed by itself. A crash between
    deleting a step's signals and its batch rows (the worst place) leaves batch rows whose
    signals are gone and the rest untouched: nothing is orphaned, and the next erase, in a
    new process, removes the rest. The erase answers only once everything is gone."""
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    async with create_storage(url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        for n in range(30):  # 30 x 20 = 600 signals: more than two erase steps
            await storage.ingest(batch(site.id, "a", f"a-{n:02d}", 20))
        await storage.ingest(batch(site.id, "b", "b-0", 20))

        real = sqlite_backend._erase_batches
        steps = 0

        async def dies_in_the_second_step(conn: Any, *args: Any) -> dict[str, int]:
            nonlocal steps
            steps += 1
            if steps == 2:  # the signals go, then the process dies before the batch rows
                await conn.execute("DELETE FROM signals WHERE rowid IN (SELECT s.rowid FROM "
                                   f"batches b CROSS JOIN {sqlite_backend._SIGNALS_OF_BATCHES} "
                                   f"AND b.batch_id IN ({','.join('?' * len(args[2]))}))",
                                   (args[0], args[1], *(str(s[0]) for s in args[2])))  # fmt: skip
                raise sqlite3.OperationalError("disk I/O error")
            return await real(conn, *args)

        sqlite_backend._erase_batches = dies_in_the_second_step  # type: ignore[assignment]
        try:
            with pytest.raises((sqlite3.OperationalError, StorageError)):
                await storage.erase_visitor(site.id, "a")
        finally:
            sqlite_backend._erase_batches = real
        left = await stored(storage, site.id, "a")
        assert 0 < left < 600
        assert len(await exported(storage, site.id, "a")) == left  # every one still found

    async with create_storage(url) as storage:  # the next process
        removed = await storage.erase_visitor(site.id, "a")
        assert removed["signals"] == left
        assert await stored(storage, site.id, "a") == 0
        assert await query(url, "SELECT COUNT(*) FROM batches WHERE visitor = 'a'") == [(0,)]
        assert await stored(storage, site.id, "b") == 20


async def test_0007_backfills_the_spans_of_existing_batches(database_url: str) -> None:
    await upgrade_to(database_url, "0006")
    signal = "'{}'" if database_url.startswith("sqlite") else "'{}'::jsonb"
    await execute(database_url, *[
        "INSERT INTO sites (id, name, site_key, admin_token_hash, origins, created_at) "
        "VALUES (1, 'S', 'key', 'hash', '[]', 0)",
        *(f"INSERT INTO batches VALUES (1, '{b}', '{v}', 's', {n}, 0)"
          for b, v, n in (("x-1", "a", 2), ("x-2", "b", 1), ("x-3", "a", 0))),
        *(f"INSERT INTO signals VALUES (1, '{v}', 's', '{b}', 'clicks', {signal}, 0)"
          for b, v in (("x-1", "a"), ("x-2", "b"), ("x-1", "a"))),
    ])  # fmt: skip
    async with create_storage(database_url) as storage:
        spans = await storage.sql_fetch(
            "SELECT batch_id, first_signal, last_signal FROM batches ORDER BY batch_id"
        )
        assert spans == [("x-1", 1, 3), ("x-2", 2, 2), ("x-3", None, None)]
        assert len(await exported(storage, 1, "a")) == 2
        await storage.ingest(batch(1, "a", "x-4", 2))  # new ids follow the old ones
        assert len(await exported(storage, 1, "a")) == 4
        assert (await storage.erase_visitor(1, "a"))["signals"] == 4
        assert await stored(storage, 1, "b") == 1


async def upgrade_to(url: str, revision: str) -> None:
    """Migrate a fresh database to ``revision`` only (not to head)."""
    import sqlalchemy as sa
    from alembic import command

    from rapport.server.storage import parse_database_url
    from rapport.server.storage.migrate import _alembic_config

    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        engine = sa.create_engine(f"sqlite:///{parsed.path}")
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
        engine.dispose()
        return
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def connect() -> Any:
        return await asyncpg.connect(parsed.dsn)

    async_engine = create_async_engine(
        "postgresql+asyncpg://", async_creator=connect, poolclass=NullPool
    )
    async with async_engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(_alembic_config(c), revision))
    await async_engine.dispose()
