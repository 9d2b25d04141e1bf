"""The SQLite writer's steps, run in a process of its own: a group in one trip, two when its
guess fails.

The writer used to ingest on an aiosqlite connection, like the readers. A group then took
about twenty trips between the event loop and aiosqlite's thread: one per statement, per
fetch and per cursor closed. Then it took two, on a plain :mod:`sqlite3` connection on a
thread of its own; but that thread shares the server's interpreter lock, and it needs the lock
back after every SQLite call: while the loop answered requests, the thread waited (2.3–2.9 ms
per group to start its first trip), the loop then waited for the group, and the two took turns
on one core of two (bench/README.md, issue 19). Here the connection lives in a child process
(:mod:`.sqlite_writer_process` starts it and talks to it), with an interpreter of its own, and a
group takes one trip to it, most of the time.

A group's writes depend on what the file holds: which of its batches are new (a retried batch
is acknowledged, not stored again), and the stored profiles of visitors that this process's
profile cache lacks. The server computes the group's writes (signals, profiles, the report's
rollups) on the guess that holds almost always — every batch new, every visitor the cache
lacks a new one — and sends them with the batch rows, in one trip (:func:`write_group`): the
child inserts the batch rows, checks the guess, and writes and commits only if it held. If it
did not, the answer is what :func:`open_group` found, the transaction stays open, and the
server computes the writes again from it and sends them in a second trip (:func:`close_group`).
One trip instead of two: the answer of a first trip waited, on the event loop, behind the
replies to the group before (3.5–4 ms of a 5.5 ms group, measured; the child's own work is
0.4 ms), so a second trip doubled that wait.

What a group computes (which batches are new, the profiles, the rollups) stays on the
server's event loop, where the caches it reads and updates live: the child holds no state but
its connection and the transaction a group opened.

The child runs this file by its path with ``python -I -S``: it imports nothing but the
standard library, so it starts in tens of milliseconds and never loads the server.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, Final

__all__ = [
    "STEPS",
    "BatchRow",
    "BatchSignals",
    "GroupStart",
    "GroupWrite",
    "abort_group",
    "close_group",
    "connect",
    "open_group",
    "serve",
    "write_group",
]

ProfileKey = tuple[int, str]

BatchRow = tuple[int, str, str, str, int, float]
"""What :func:`open_group` needs of a batch: its site id, batch id, visitor, session, number of
signals and receive time."""

GroupStart = tuple[list[int], set[tuple[int, str]], list[tuple[ProfileKey, str]]]
"""What :func:`open_group` returns: each batch's first signal id, the ``(site_id,
batch_id)`` pairs inserted now, and the stored profiles asked for, as encoded."""

BatchSignals = tuple[int, int, str, str, str, float, str]
"""A new batch's parameters for :func:`close_group`'s signal insert: its first signal's
rowid, its site id, visitor, session, batch id and time, and its signals' JSON array."""

GroupWrite = tuple[
    Sequence[BatchSignals],
    Sequence[tuple[int, str, str, float]],
    Iterable[tuple[str, Sequence[Sequence[Any]]]],
]
"""A group's writes, as :func:`close_group` takes them: each new batch's signals, the profile
rows, the rollups' statements. For :func:`write_group`, a batch's first item is its position
in the group instead of its first rowid, which only the file can tell."""

_connection: sqlite3.Connection | None = None


def connect(path: str, busy_timeout_ms: int) -> None:
    """Open the child's one connection, with the settings the server's other connections use
    (the file is in WAL mode already: the migrations' connection switched it)."""
    global _connection
    _connection = _connect(path, busy_timeout_ms)


def _connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
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
    conn: sqlite3.Connection, batches: Sequence[BatchRow], missing: Sequence[ProfileKey]
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
        for site_id, batch_id, visitor, session, n, received_at in batches:
            firsts.append(first + 1)
            span = (first + 1, first + n) if n else (None, None)
            params += (site_id, batch_id, visitor, session, n, received_at, *span)
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


def write_group(
    conn: sqlite3.Connection,
    batches: Sequence[BatchRow],
    missing: Sequence[ProfileKey],
    writes: GroupWrite,
) -> tuple[bool, GroupStart]:
    """Write and commit a group in one step if every batch in it is new and no ``missing``
    profile is stored (the ``writes`` were computed on that guess); answer ``(True, …)``.
    Otherwise answer ``(False, what open_group found)`` with the transaction open: the server
    ends it with :func:`close_group` or :func:`abort_group`."""
    start = open_group(conn, batches, missing)
    firsts, inserted, stored = start
    if stored or len(inserted) < len({(b[0], b[1]) for b in batches}):
        return False, start
    signals, profile_rows, rollups = writes
    positioned = [(firsts[row[0]], *row[1:]) for row in signals]
    close_group(conn, positioned, profile_rows, rollups)
    return True, start


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


STEPS: Final[dict[str, Callable[..., Any]]] = {
    step.__name__: step for step in (write_group, open_group, close_group, abort_group)
}
"""The steps a trip may name; each is called with the connection first."""


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Answer trips until ``requests`` ends: the server closed it, or ended.

    A trip is a frame (4-byte little-endian length, then a pickle) of ``(step, args)``; its
    answer a frame of ``(True, result)`` or ``(False, exception)``. Ending with the server's
    pipe, not with a signal: a Ctrl-C or a SIGTERM sent to the server's process group must
    not end this process while the server still flushes its last groups into it.
    """
    for ignored in (signal.SIGINT, signal.SIGTERM):
        signal.signal(ignored, signal.SIG_IGN)
    try:
        while True:
            head = requests.read(4)
            if len(head) < 4:
                return
            body = requests.read(int.from_bytes(head, "little"))
            reply = _answer(body)
            try:
                replies.write(len(reply).to_bytes(4, "little") + reply)
                replies.flush()
            except BrokenPipeError:  # the server ended meanwhile: no one to answer
                return
    finally:
        if _connection is not None:
            _connection.close()  # a transaction still open is rolled back


def _answer(body: bytes) -> bytes:
    try:
        name, args = pickle.loads(body)
        result: Any = None
        if name == "connect":
            connect(*args)
        elif _connection is None:
            raise sqlite3.ProgrammingError("the writer's connection is not open")
        else:
            result = STEPS[name](_connection, *args)
        return pickle.dumps((True, result), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        try:
            return pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # an exception that does not pickle still says what it was
            failure = sqlite3.OperationalError(f"{type(exc).__name__}: {exc}")
            return pickle.dumps((False, failure), protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
