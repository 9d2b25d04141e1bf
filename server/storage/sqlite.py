"""SQLite backend (the embedded default) on aiosqlite, the writer in a process of its own.

Layout of connections, from the measurements in ARCHITECTURE.md §2:

* one **writer** connection owned by the group-commit writer task, the only one that
  ingests (two writers on one file do not scale and, misconfigured, lost acknowledged
  rows) — so run one server process per SQLite file; use PostgreSQL to scale out. It is a
  plain ``sqlite3`` connection in a child process of the server's
  (:mod:`.sqlite_writer_process`), reached once per group, twice when the group holds a
  duplicate or a visitor the profile cache lacks but the file holds (:mod:`.sqlite_group`):
  neither waits for the other's interpreter lock;
* one **reader** connection for sites, profiles and the rare admin write (WAL lets it
  read while the writer commits);
* WAL + ``synchronous=NORMAL``: durable across process crashes, and a power loss can
  lose at most the last commits, never corrupt the file;
* every cursor is closed explicitly (``async with``): unclosed aiosqlite cursors under
  concurrency raise ``sqlite3.InterfaceError: bad parameter or other API misuse``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import aiosqlite
import msgspec

from rapport.server.profiles import Profile, decode_profile, encode_profile
from rapport.server.report.store import ROLLUP_SITE_TABLES
from rapport.server.report.store import sqlite_statements as rollup_statements
from rapport.server.sites.keys import hash_admin_token, new_admin_token, new_site_key
from rapport.server.sites.model import NewSite, Site
from rapport.server.storage.base import (
    SITE_TABLES,
    IngestBatch,
    IngestResult,
    SiteNameTaken,
    SiteStats,
    StorageClosed,
    StorageError,
    VisitorReader,
)
from rapport.server.storage.group_commit import (
    AppliedGroup,
    GroupCommitStorage,
    apply_group,
    first_occurrences,
)
from rapport.server.storage.migrate import ensure_sqlite_schema
from rapport.server.storage.retention import RETAINED
from rapport.server.storage.sqlite_group import (
    BatchSignals,
    GroupWrite,
    abort_group,
    close_group,
    write_group,
)
from rapport.server.storage.sqlite_writer_process import WriterProcess
from rapport.server.storage.visitor_tables import VISITOR_TABLES, VisitorTable

__all__ = ["SQLiteStorage"]

_origins_decoder = msgspec.json.Decoder(list[str])
_SITE_COLUMNS = "id, name, site_key, origins, created_at"
# Retention deletes this many signals per statement, so the writer never waits long.
_PRUNE_CHUNK = 5000
# Erasure deletes a visitor's signals this many at a time (a few batches; about a ms), each
# step a short write of its own, with a pause between steps: the writer's turn.
_ERASE_CHUNK = 250
_ERASE_PAUSE = 0.005  # seconds, at least
# ... and at least this many times the step's own time: an erase keeps SQLite (and the GIL)
# busy at most a quarter of the time, so a loaded machine slows the erase, not the hints.
_ERASE_PAUSE_FACTOR = 3.0
# A visitor's batches in signal order (index batches_visitor), with the span of their signals.
_VISITOR_BATCHES = (
    "SELECT batch_id, first_signal, last_signal, signal_count FROM batches "
    "WHERE site_id = ?1 AND visitor = ?2 ORDER BY first_signal LIMIT ?3"
)


class SQLiteStorage(GroupCommitStorage):
    """Storage in one SQLite file; see the module docstring for the connection layout."""

    backend: ClassVar[str] = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        max_queue: int = 1024,
        max_group: int = 256,
        enqueue_timeout: float = 5.0,
        busy_timeout_ms: int = 5000,
        profile_cache_size: int = 50_000,
    ) -> None:
        super().__init__(
            writer_name=f"rapport-sqlite-writer:{path}",
            max_queue=max_queue,
            max_group=max_group,
            enqueue_timeout=enqueue_timeout,
            profile_cache_size=profile_cache_size,
        )
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._group_writer: WriterProcess | None = None
        self._reader_conn: aiosqlite.Connection | None = None
        # Serialises every transaction on this file — the writer's groups and the reader
        # connection's own writes (site admin, erasure, retention): a transaction on a shared
        # connection must not interleave with another one, and the profile cache must see
        # commits and erasures in the order the file does.
        self._admin_lock = asyncio.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    async def _open_connections(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        migrations = await self._connect()
        try:
            await ensure_sqlite_schema(
                migrations, self.path, busy_timeout=self._busy_timeout_ms / 1000
            )
        finally:
            await migrations.close()
        writer = WriterProcess(f"rapport-sqlite-writer:{self.path.name}")
        await writer.open(self.path, busy_timeout_ms=self._busy_timeout_ms)
        self._group_writer = writer
        self._reader_conn = await self._connect()
        # A commit on a connection runs the WAL checkpoint when the WAL is long (after an
        # erase: 13 ms median, 28 ms max with an export's snapshot open, measured), and every
        # read queued on that connection waits for it. The shared reader carries the hints
        # reads, so it leaves checkpoints to the writer's and the erase's connections.
        await _execute(self._reader_conn, "PRAGMA wal_autocheckpoint=0")

    async def _close_connections(self) -> None:
        writer, self._group_writer = self._group_writer, None
        try:
            if self._reader_conn is not None:
                await self._reader_conn.close()
        finally:
            self._reader_conn = None
            if writer is not None:
                await writer.close()

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: autocommit; the writer issues BEGIN/COMMIT itself.
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await _execute(conn, f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            await self._enable_wal(conn)
            await _execute(conn, "PRAGMA synchronous=NORMAL")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _enable_wal(self, conn: aiosqlite.Connection) -> None:
        """Switch to WAL, retrying while another connection holds the file.

        Switching a new file to WAL needs a brief exclusive lock, and SQLite answers "database
        is locked" at once instead of calling the busy handler when another connection (of
        this process's two, or the CLI's) is opening the same fresh file at that moment.
        """
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        while True:
            try:
                await _execute(conn, "PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.01)

    @property
    def _reader(self) -> aiosqlite.Connection:
        if self._reader_conn is None:
            raise StorageClosed("SQLite storage is not open")
        return self._reader_conn

    async def schema_version(self) -> int:
        rows = await _fetchall(self._reader, "SELECT version_num FROM alembic_version")
        return int(rows[0][0]) if rows else 0

    # -- sites ---------------------------------------------------------------------------

    async def create_site(self, name: str, origins: Sequence[str], *, now: float) -> NewSite:
        token = new_admin_token()
        site_key = new_site_key()
        origins_json = msgspec.json.encode(list(origins)).decode()
        try:
            async with self._admin_lock:
                rows = await _fetchall(
                    self._reader,
                    "INSERT INTO sites (name, site_key, admin_token_hash, origins, created_at) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (name, site_key, hash_admin_token(token), origins_json, now),
                )
        except sqlite3.IntegrityError as exc:
            if "sites.name" in str(exc):
                raise SiteNameTaken(f"a site named {name!r} already exists") from None
            raise
        site = Site(
            id=int(rows[0][0]),
            name=name,
            site_key=site_key,
            origins=tuple(origins),
            created_at=now,
        )
        return NewSite(site=site, admin_token=token)

    async def set_site_origins(self, site_id: int, origins: Sequence[str]) -> None:
        async with self._admin_lock:
            await _execute(
                self._reader,
                "UPDATE sites SET origins = ? WHERE id = ?",
                (msgspec.json.encode(list(origins)).decode(), site_id),
            )

    async def list_sites(self) -> list[Site]:
        rows = await _fetchall(self._reader, f"SELECT {_SITE_COLUMNS} FROM sites ORDER BY id")
        return [_site_from_row(row) for row in rows]

    async def site_by_key(self, site_key: str) -> Site | None:
        rows = await _fetchall(
            self._reader, f"SELECT {_SITE_COLUMNS} FROM sites WHERE site_key = ?", (site_key,)
        )
        return _site_from_row(rows[0]) if rows else None

    async def site_by_name(self, name: str) -> Site | None:
        rows = await _fetchall(
            self._reader, f"SELECT {_SITE_COLUMNS} FROM sites WHERE name = ?", (name,)
        )
        return _site_from_row(rows[0]) if rows else None

    # -- ingest and profiles -------------------------------------------------------------

    async def profile(self, site_id: int, visitor: str) -> Profile:
        async def load() -> Profile:
            rows = await _fetchall(
                self._reader,
                "SELECT data FROM profiles WHERE site_id = ? AND visitor = ?",
                (site_id, visitor),
            )
            return decode_profile(rows[0][0] if rows else None)

        return await self._profiles.read_through((site_id, visitor), load)

    async def count_signals(self, site_id: int, batch_id: str | None = None) -> int:
        if batch_id is None:
            sql, params = "SELECT COUNT(*) FROM signals WHERE site_id = ?", (site_id,)
        else:
            sql = "SELECT COUNT(*) FROM signals WHERE site_id = ? AND batch_id = ?"
            params = (site_id, batch_id)  # type: ignore[assignment]
        rows = await _fetchall(self._reader, sql, params)
        return int(rows[0][0])

    # -- visitor rights, site administration, retention -----------------------------------

    async def erase_visitor(self, site_id: int, visitor: str) -> dict[str, int]:
        # A visitor's signals can number hundreds of thousands. One DELETE of them held the
        # write lock for as long; and whatever ran on the shared reader connection (the last
        # transaction, with the WAL checkpoint its commit ran) made every hints read queue
        # behind it (bench/README.md, rights_load). So everything runs on a connection of its
        # own: first a few batches at a time (their signals, then the
        # batch rows, each statement committed by itself, with a pause for the writer and the
        # readers in between), then one short transaction over the small tables and whatever
        # the writer added meanwhile; only then is the profile forgotten and the erase
        # acknowledged. Each step is idempotent: after a crash anywhere the remaining rows
        # are still found (a batch row goes only after its signals), and the next erase
        # removes them.
        removed = dict.fromkeys((t.name for t in VISITOR_TABLES), 0)
        async with self._own_connection() as conn:
            while True:
                started = time.monotonic()
                spans = await _fetchall(conn, _VISITOR_BATCHES, (site_id, visitor, _ERASE_CHUNK))
                if not spans:
                    break
                taken, signals = [], 0
                for span in spans:
                    taken.append(span)
                    signals += int(span[3])
                    if signals >= _ERASE_CHUNK:
                        break
                for table, count in (await _erase_batches(conn, site_id, visitor, taken)).items():
                    removed[table] += count
                took = time.monotonic() - started
                await asyncio.sleep(max(_ERASE_PAUSE, took * _ERASE_PAUSE_FACTOR))
            # A batch of the visitor still queued in the writer would be stored after the
            # last transaction: let the writer commit what it accepted first.
            await self._writer.settled()
            async with self._admin_lock:
                await _execute(conn, "BEGIN IMMEDIATE")
                try:
                    late = await _fetchall(conn, _VISITOR_BATCHES, (site_id, visitor, -1))
                    for table, count in (
                        await _erase_batches(conn, site_id, visitor, late)
                    ).items():
                        removed[table] += count
                    for small in VISITOR_TABLES:
                        if small.name not in ("signals", "batches"):
                            removed[small.name] += await _execute_count(
                                conn,
                                f"DELETE FROM {small.name} WHERE site_id = ? AND visitor = ?",
                                (site_id, visitor),
                            )
                except BaseException:
                    with contextlib.suppress(Exception):
                        await _execute(conn, "ROLLBACK")
                    raise
                await _execute(conn, "COMMIT")
                self._forget_visitor(site_id, visitor)
        return removed

    @contextlib.asynccontextmanager
    async def visitor_reader(self, site_id: int, visitor: str) -> AsyncIterator[VisitorReader]:
        # Its own read-only connection: one read transaction (a consistent snapshot) for the
        # whole export, without holding the shared reader connection or the admin lock.
        async with self._own_connection(read_only=True) as conn:
            await _execute(conn, "BEGIN")
            yield _SQLiteVisitorReader(conn, site_id, visitor)

    @contextlib.asynccontextmanager
    async def _own_connection(
        self, *, read_only: bool = False
    ) -> AsyncIterator[aiosqlite.Connection]:
        """A connection of its own for a long job (an export, an erase), so that reads queued
        on the shared reader connection (hints) never wait behind it; autocommit."""
        if read_only:
            target = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = await aiosqlite.connect(target, uri=True, isolation_level=None)
        else:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await _execute(conn, f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            yield conn
        finally:
            await conn.close()

    async def site_admin_token_hash(self, site_id: int) -> str | None:
        rows = await _fetchall(
            self._reader, "SELECT admin_token_hash FROM sites WHERE id = ?", (site_id,)
        )
        return str(rows[0][0]) if rows else None

    async def rotate_site_key(self, site_id: int) -> str:
        key = new_site_key()
        async with self._admin_lock:
            await _execute(
                self._reader, "UPDATE sites SET site_key = ? WHERE id = ?", (key, site_id)
            )
        return key

    async def delete_site(self, site_id: int) -> dict[str, int]:
        await self._writer.settled()  # the site's queued batches first, deleted with the rest
        removed = await self._delete_in_transaction(
            [(table, f"DELETE FROM {table} WHERE site_id = ?", (site_id,))
             for table in ("signals", "batches", "profiles", *SITE_TABLES, *ROLLUP_SITE_TABLES)]
            + [("sites", "DELETE FROM sites WHERE id = ?", (site_id,))],
            after_commit=lambda: self._forget_site(site_id),
        )  # fmt: skip
        return {
            k: v
            for k, v in removed.items()
            if k not in ROLLUP_SITE_TABLES and (v or k not in SITE_TABLES)
        }

    async def site_stats(self, site_id: int) -> SiteStats:
        rows = await _fetchall(
            self._reader,
            "SELECT (SELECT COUNT(*) FROM signals WHERE site_id = ?1), "
            "(SELECT COUNT(*) FROM batches WHERE site_id = ?1), "
            "(SELECT COUNT(DISTINCT visitor) FROM batches WHERE site_id = ?1), "
            "(SELECT COUNT(*) FROM profiles WHERE site_id = ?1)",
            (site_id,),
        )
        signals, batches, visitors, profiles = (int(v) for v in rows[0])
        return SiteStats(signals=signals, batches=batches, visitors=visitors, profiles=profiles)

    async def prune(self, before: float) -> dict[str, int]:
        # Small autocommit chunks: the writer waits at most one chunk for the write lock.
        # Rows are appended in time order, so each chunk finds old rows at the start.
        removed = dict.fromkeys(RETAINED, 0)
        for table, sql in (
            ("signals", "DELETE FROM signals WHERE rowid IN (SELECT rowid FROM signals "
                        f"WHERE received_at < ? LIMIT {_PRUNE_CHUNK})"),
            ("batches", "DELETE FROM batches WHERE (site_id, batch_id) IN (SELECT site_id, "
                        f"batch_id FROM batches WHERE received_at < ? LIMIT {_PRUNE_CHUNK})"),
            *((table, f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "
                      f"WHERE {where} LIMIT {_PRUNE_CHUNK})")
              for table, where in RETAINED.items() if table not in ("signals", "batches")),
        ):  # fmt: skip
            while True:
                async with self._admin_lock:
                    count = await _execute_count(self._reader, sql, (before,))
                removed[table] += count
                if count < _PRUNE_CHUNK:
                    break
        return removed

    async def _delete_in_transaction(
        self,
        statements: Sequence[tuple[str, str, Sequence[Any]]],
        *,
        after_commit: Callable[[], None] | None = None,
    ) -> dict[str, int]:
        removed: dict[str, int] = {}
        async with self._admin_lock:
            conn = self._reader
            await _execute(conn, "BEGIN IMMEDIATE")
            try:
                for table, sql, params in statements:
                    removed[table] = await _execute_count(conn, sql, params)
            except BaseException:
                with contextlib.suppress(Exception):
                    await _execute(conn, "ROLLBACK")
                raise
            await _execute(conn, "COMMIT")
            if after_commit is not None:
                after_commit()
        return removed

    async def sql_execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._admin_lock:
            return await _execute_count(self._reader, sql, params)

    async def sql_fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if sql.lstrip().upper().startswith("SELECT"):
            return [tuple(r) for r in await _fetchall(self._reader, sql, params)]
        async with self._admin_lock:  # INSERT … RETURNING: a write
            return [tuple(r) for r in await _fetchall(self._reader, sql, params)]

    async def site_profiles(self, site_id: int) -> list[tuple[str, Profile]]:
        rows = await _fetchall(
            self._reader,
            "SELECT visitor, data FROM profiles WHERE site_id = ? ORDER BY visitor",
            (site_id,),
        )
        return [(str(v), decode_profile(d)) for v, d in rows]

    async def _flush(self, batches: Sequence[IngestBatch]) -> list[IngestResult]:
        """Commit one group: idempotency rows, new signals, profiles — one transaction."""
        writer = self._group_writer
        if writer is None:
            raise StorageClosed("SQLite storage is not open")
        async with self._admin_lock:
            try:
                results, profiles = await self._write_group(writer, batches)
            except BaseException as exc:
                # A writer process that died after its COMMIT and before its answer leaves
                # the group stored yet failed: the retries are duplicates, and the cache must
                # not keep these visitors' profiles from before the group.
                for b in batches:
                    self._profiles.discard((b.site_id, b.visitor))
                if isinstance(exc, sqlite3.OperationalError):  # locked, disk full, I/O error
                    raise StorageError(f"SQLite write failed: {exc}") from exc  # retryable
                raise
            for key, profile in profiles.items():
                self._profiles.store(key, profile)
        return results

    async def _write_group(
        self, writer: WriterProcess, batches: Sequence[IngestBatch]
    ) -> tuple[list[IngestResult], dict[tuple[int, str], Profile]]:
        """Write one group in one trip to the writer's process, two when a batch in it is a
        duplicate or a profile it lacked is stored (:mod:`.sqlite_group`); also return every
        profile it touched, as committed."""
        cached: dict[tuple[int, str], Profile] = {}
        missing: dict[tuple[int, str], None] = {}
        for b in batches:
            key = (b.site_id, b.visitor)
            profile = self._profiles.get(key)
            if profile is not None:
                cached[key] = profile
            else:
                missing[key] = None
        rows = [
            (b.site_id, b.batch_id, b.visitor, b.session, b.signals.count, b.received_at)
            for b in batches
        ]
        # The guess write_group checks: every batch is new (within the group, its first copy
        # is), and every visitor whose profile the cache lacks is a new visitor. Signals carry
        # their batch's position; the child puts the batch's first rowid in its place.
        guessed = dict(cached)
        every = {(b.site_id, b.batch_id) for b in batches}
        applied, writes = self._group_writes(
            batches, first_occurrences(batches, every), guessed, range(len(batches))
        )
        done, (firsts, inserted, stored) = await writer.run(
            write_group, rows, list(missing), writes
        )
        if done:
            return applied.results, guessed
        try:  # the guess was wrong: the writes again, from what the file holds
            profiles = dict(cached)
            for key, data in stored:
                profiles[key] = decode_profile(data)
            applied, writes = self._group_writes(
                batches, first_occurrences(batches, inserted), profiles, firsts
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more
                await writer.run(abort_group)
            raise
        await writer.run(close_group, *writes)
        return applied.results, profiles

    def _group_writes(
        self,
        batches: Sequence[IngestBatch],
        is_new: Sequence[bool],
        profiles: dict[tuple[int, str], Profile],
        firsts: Sequence[int],
    ) -> tuple[AppliedGroup, GroupWrite]:
        """Apply the group to ``profiles`` (in place) and compute what the file must get."""
        signal_values = _signal_values(batches, is_new, firsts)
        applied = apply_group(batches, is_new, profiles)
        profile_rows = [
            (site_id, visitor, encode_profile(profiles[(site_id, visitor)]), at)
            for (site_id, visitor), at in applied.changed.items()
        ]
        rollups = self._new_rollups()
        applied.add_rollups(rollups)
        statements = rollup_statements(rollups) if rollups else []
        return applied, (signal_values, profile_rows, statements)


def _signal_values(
    batches: Sequence[IngestBatch], is_new: Sequence[bool], firsts: Sequence[int]
) -> list[BatchSignals]:
    """One row of parameters per new batch; SQLite splits each batch's JSON array into its
    signal rows (:func:`~.sqlite_group.close_group`)."""
    return [
        (rowid, b.site_id, b.visitor, b.session, b.batch_id, b.received_at, b.signals.json)
        for b, new, rowid in zip(batches, is_new, firsts, strict=True)
        if new
    ]


class _SQLiteVisitorReader(VisitorReader):
    """Reads on the export's own connection, inside its read transaction."""

    def __init__(self, conn: aiosqlite.Connection, site_id: int, visitor: str) -> None:
        self._conn, self._key = conn, (site_id, visitor)

    async def rows(
        self, table: VisitorTable, *, offset: int, limit: int, chunk: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        if table.through_batches:
            sql = (
                f"SELECT {', '.join('s.' + c for c in table.columns)} "
                f"FROM batches b CROSS JOIN {_SIGNALS_OF_BATCHES} "
                f"ORDER BY {table.sqlite_order} LIMIT ?3 OFFSET ?4"
            )
        else:
            sql = (
                f"SELECT {', '.join(table.columns)} FROM {table.name} "
                f"WHERE site_id = ?1 AND visitor = ?2 "
                f"ORDER BY {table.sqlite_order or table.order} LIMIT ?3 OFFSET ?4"
            )
        async with self._conn.execute(sql, (*self._key, limit, offset)) as cursor:
            while rows := await cursor.fetchmany(chunk):
                yield [tuple(r) for r in rows]


# A visitor's signals: those in the span of one of the visitor's batches (aliased b) that
# belong to that batch (a span may hold other batches' ids). ?1 = site_id, ?2 = visitor.
_SIGNALS_OF_BATCHES: Final = (
    "signals s ON s.rowid BETWEEN b.first_signal AND b.last_signal "
    "WHERE b.site_id = ?1 AND b.visitor = ?2 "
    "AND s.site_id = ?1 AND s.visitor = ?2 AND s.batch_id = b.batch_id"
)


async def _erase_batches(
    conn: aiosqlite.Connection, site_id: int, visitor: str, spans: Sequence[Sequence[Any]]
) -> dict[str, int]:
    """Delete these batches of the visitor (rows of :data:`_VISITOR_BATCHES`): their signals
    first, then the batch rows, so that a crash in between leaves the batches to find them."""
    if not spans:
        return {"signals": 0, "batches": 0}
    ids = [str(span[0]) for span in spans]
    marks = ",".join("?" * len(ids))
    signals = await _execute_count(
        conn,
        "DELETE FROM signals WHERE rowid IN (SELECT s.rowid FROM batches b "
        f"CROSS JOIN {_SIGNALS_OF_BATCHES} AND b.batch_id IN ({marks}))",
        (site_id, visitor, *ids),
    )
    batches = await _execute_count(
        conn,
        f"DELETE FROM batches WHERE site_id = ?1 AND visitor = ?2 AND batch_id IN ({marks})",
        (site_id, visitor, *ids),
    )
    return {"signals": signals, "batches": batches}


def _site_from_row(row: Sequence[Any]) -> Site:
    return Site(
        id=int(row[0]),
        name=str(row[1]),
        site_key=str(row[2]),
        origins=tuple(_origins_decoder.decode(row[3])),
        created_at=float(row[4]),
    )


async def _execute(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> None:
    async with conn.execute(sql, params):
        pass


async def _execute_count(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> int:
    async with conn.execute(sql, params) as cursor:
        return int(cursor.rowcount)


async def _fetchall(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
) -> list[sqlite3.Row]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())
