"""The SQLite writer's own connection and thread: one group in two trips to it.

The writer used to ingest on an aiosqlite connection, like the readers. A group then took
about twenty trips between the event loop and aiosqlite's thread: one per statement, per
fetch and per cursor closed. A trip costs ≈ 70 µs of CPU here on asyncio's own loop (a queue,
a thread's wake-up, a call back into the loop), less on uvloop, which ``rapport serve`` runs.
In process, 32 requests at a time, a collect cost 25–30 % less CPU on asyncio's loop once its
group took two trips, ≈ 12 % less on uvloop (bench/README.md).

Here the writer owns a plain :mod:`sqlite3` connection on a thread of its own, and a group
takes two trips:

* :func:`open_group`: ``BEGIN IMMEDIATE``, the batch rows (which answers which batches are
  new), and the profiles this process's cache lacks;
* :func:`close_group`: the signals, the profiles, the report's rollups, ``COMMIT``.

What a group computes between the two (which batches are new, the profiles, the rollups)
stays on the event loop, where the caches it reads and updates live: nothing on this thread
touches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, TypeVar

from rapport.server.storage.base import IngestBatch, StorageClosed
from rapport.server.storage.group_commit import ProfileKey

__all__ = [
    "BatchSignals",
    "GroupStart",
    "WriterThread",
    "abort_group",
    "close_group",
    "open_group",
]

R = TypeVar("R")

GroupStart = tuple[list[int], set[tuple[int, str]], list[tuple[ProfileKey, str]]]
"""What :func:`open_group` returns: each batch's first signal id, the ``(site_id,
batch_id)`` pairs inserted now, and the stored profiles asked for, as encoded."""

BatchSignals = tuple[int, int, str, str, str, float, str]
"""A new batch's parameters for :func:`close_group`'s signal insert: its first signal's
rowid, its site id, visitor, session, batch id and time, and its signals' JSON array."""


class WriterThread:
    """One :mod:`sqlite3` connection, used only on one thread made for it.

    A connection made and used on one thread needs no lock of its own; the storage's
    ``_admin_lock`` keeps a group's two trips together.
    """

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None

    async def open(self, path: Path, *, busy_timeout_ms: int) -> None:
        """Connect on the thread, with the settings the other connections use (the file is
        in WAL mode already: the migrations' connection switched it)."""
        self._conn = await self._call(_connect, path, busy_timeout_ms)

    async def run(self, step: Callable[..., R], *args: Any) -> R:
        """Run ``step(connection, *args)`` on the thread."""
        conn = self._conn
        if conn is None:
            raise StorageClosed("SQLite storage is not open")
        return await self._call(step, conn, *args)

    async def close(self) -> None:
        """Close the connection on its thread, then end the thread."""
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                await self._call(conn.close)
        finally:
            self._executor.shutdown(wait=True)

    async def _call(self, fn: Callable[..., R], *args: Any) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    # isolation_level=None: autocommit; the steps below issue BEGIN/COMMIT themselves.
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def open_group(
    conn: sqlite3.Connection, batches: Sequence[IngestBatch], missing: Sequence[ProfileKey]
) -> GroupStart:
    """Begin the group's transaction, insert its batch rows, read the ``missing`` profiles.

    Each batch's signals get the next rowids, recorded in its batches row: export and erase
    find a visitor's signals through the batches (migration 0007). Only this writer inserts
    signals, inside this transaction, so the ids cannot be taken meanwhile; a duplicate's span
    stays unused.
    """
    if conn.in_transaction:  # a group cancelled between its two trips left it open
        conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")
    try:
        first = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM signals").fetchone()[0])
        firsts: list[int] = []
        params: list[Any] = []
        for b in batches:
            n = b.signals.count
            firsts.append(first + 1)
            span = (first + 1, first + n) if n else (None, None)
            params += (b.site_id, b.batch_id, b.visitor, b.session, n, b.received_at, *span)
            first += n
        values = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(batches))
        inserted = {
            (int(row[0]), str(row[1]))
            for row in conn.execute(
                "INSERT INTO batches (site_id, batch_id, visitor, session, signal_count, "
                "received_at, first_signal, last_signal) "
                f"VALUES {values} ON CONFLICT DO NOTHING RETURNING site_id, batch_id",
                params,
            ).fetchall()
        }
        return firsts, inserted, _stored_profiles(conn, missing)
    except BaseException:
        abort_group(conn)
        raise


def close_group(
    conn: sqlite3.Connection,
    signal_values: Sequence[BatchSignals],
    profile_rows: Sequence[tuple[int, str, str, float]],
    rollups: Iterable[tuple[str, Sequence[Sequence[Any]]]],
) -> None:
    """Write the group's signals (a row of parameters per batch, :data:`_INSERT_SIGNALS`),
    profiles and rollups; commit."""
    try:
        if signal_values:
            conn.executemany(_INSERT_SIGNALS, signal_values)
        if profile_rows:
            conn.executemany(_UPSERT_PROFILES, profile_rows)
        for sql, rows in rollups:
            conn.executemany(sql, rows)
        conn.execute("COMMIT")
    except BaseException:
        abort_group(conn)
        raise


def abort_group(conn: sqlite3.Connection) -> None:
    """Roll the open group back; the error that led here is the one to report."""
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _stored_profiles(
    conn: sqlite3.Connection, keys: Sequence[ProfileKey]
) -> list[tuple[ProfileKey, str]]:
    found: list[tuple[ProfileKey, str]] = []
    for start in range(0, len(keys), _PROFILE_CHUNK):
        chunk = keys[start : start + _PROFILE_CHUNK]
        values = ",".join(["(?, ?)"] * len(chunk))
        params = [part for key in chunk for part in key]
        for site_id, visitor, data in conn.execute(
            "SELECT site_id, visitor, data FROM profiles "
            f"WHERE (site_id, visitor) IN (VALUES {values})",
            params,
        ).fetchall():
            found.append(((int(site_id), str(visitor)), str(data)))
    return found


# Two variables per (site_id, visitor) pair; far below SQLite's 32766-variable limit.
_PROFILE_CHUNK: Final = 500
#: A batch's signals from its JSON array (``?7``, :class:`~.base.StoredSignals`): the array's
#: order gives the rowids from the batch's first (``?1``), each element is stored as its own JSON
#: text, and its kind is its tag. The columns a batch's signals share are parameters: SQLite
#: parses each element once, for its tag (a document per group with every column in it was
#: parsed again per column, and cost twice the CPU: bench/README.md, issue 19).
_INSERT_SIGNALS: Final = (
    "INSERT INTO signals (rowid, site_id, visitor, session, batch_id, kind, body, received_at) "
    "SELECT ?1 + key, ?2, ?3, ?4, ?5, json_extract(value, '$.kind'), value, ?6 "
    "FROM json_each(?7)"
)
_UPSERT_PROFILES: Final = (
    "INSERT INTO profiles (site_id, visitor, data, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (site_id, visitor) DO UPDATE "
    "SET data = excluded.data, updated_at = excluded.updated_at"
)
