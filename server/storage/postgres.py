"""PostgreSQL backend on asyncpg, with the same semantics as the SQLite one.

Use it when one process is not enough: several server processes can share one PostgreSQL
database (each runs its own group-commit writer), which SQLite cannot do safely.

Differences from SQLite, all internal:

* a batch's signals are stored in its ``batches`` row, as the JSON array they arrived as
  (migration 0009: a row per signal was most of PostgreSQL's work per collect); the ``signals``
  view shows them as rows, beside the rows of batches stored before (``signal_rows``);
* idempotency is ``INSERT … ON CONFLICT DO NOTHING RETURNING`` on ``batches``;
* because other processes may update the same visitor concurrently, profile rows are
  created if missing and then read ``FOR UPDATE`` (in key order, to avoid deadlocks)
  before the read-modify-write;
* each process caches hot profiles like the SQLite backend does, and every transaction that
  changes or erases profiles announces their keys with NOTIFY so that the other processes
  drop them from their caches (``postgres_notify.py``);
* migrations take a transaction-scoped advisory lock (``server/storage/migrate.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, ClassVar, Final

import asyncpg  # type: ignore[import-untyped]
import msgspec

from rapport.server.profiles import Profile, decode_profile, encode_profile
from rapport.server.report.rollup import RollupBuffer
from rapport.server.report.store import ROLLUP_SITE_TABLES
from rapport.server.report.store import write_postgres as write_postgres_rollups
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
    GroupCommitStorage,
    apply_group,
    first_occurrences,
)
from rapport.server.storage.migrate import ensure_postgres_schema
from rapport.server.storage.postgres_notify import (
    CHANNEL,
    ProfileInvalidations,
    notify_payloads,
    send_notifications,
)
from rapport.server.storage.retention import RETAINED
from rapport.server.storage.signal_ids import SignalIds
from rapport.server.storage.visitor_tables import VISITOR_TABLES, VisitorTable

__all__ = ["PostgresStorage"]

log = logging.getLogger(__name__)

_SITE_COLUMNS: Final = "id, name, site_key, origins, created_at"
_origins_decoder = msgspec.json.Decoder(list[str])


class PostgresStorage(GroupCommitStorage):
    """Storage in a PostgreSQL database: a read pool plus one writer connection."""

    backend: ClassVar[str] = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        max_queue: int = 1024,
        max_group: int = 256,
        enqueue_timeout: float = 5.0,
        pool_size: int = 5,
        profile_cache_size: int = 50_000,
    ) -> None:
        super().__init__(
            writer_name="rapport-postgres-writer",
            max_queue=max_queue,
            max_group=max_group,
            enqueue_timeout=enqueue_timeout,
            profile_cache_size=profile_cache_size,
        )
        self._dsn = dsn
        self._invalidations = ProfileInvalidations(dsn, self._profiles, self._sweep_later)
        self._sweeps: set[asyncio.Task[None]] = set()
        self._pool_size = pool_size
        self._pool: Any = None
        self._writer_conn: Any = None
        self._signal_ids: SignalIds | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def _open_connections(self) -> None:
        self._writer_conn = await asyncpg.connect(self._dsn)
        await ensure_postgres_schema(self._writer_conn, self._dsn)
        # The block size is whatever the sequence says (migration 0008 sets it).
        self._signal_ids = SignalIds(int(await self._writer_conn.fetchval(_SIGNAL_ID_BLOCK)))
        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._pool_size)
        await self._invalidations.start()

    async def _close_connections(self) -> None:
        # The writer is closed by now. No notification starts a sweep once the listener is
        # closed; those already started run to the end before the pool goes.
        await self._invalidations.close()
        await asyncio.gather(*self._sweeps, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._writer_conn is not None:
            await self._writer_conn.close()
            self._writer_conn = None

    @property
    def _readers(self) -> Any:
        if self._pool is None:
            raise StorageClosed("PostgreSQL storage is not open")
        return self._pool

    async def schema_version(self) -> int:
        value = await self._readers.fetchval("SELECT version_num FROM alembic_version")
        return int(value or 0)

    # -- sites ---------------------------------------------------------------------------

    async def create_site(self, name: str, origins: Sequence[str], *, now: float) -> NewSite:
        token = new_admin_token()
        site_key = new_site_key()
        try:
            site_id = await self._readers.fetchval(
                "INSERT INTO sites (name, site_key, admin_token_hash, origins, created_at) "
                "VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id",
                name,
                site_key,
                hash_admin_token(token),
                msgspec.json.encode(list(origins)).decode(),
                now,
            )
        except asyncpg.UniqueViolationError as exc:
            if getattr(exc, "constraint_name", "") == "sites_name_key":
                raise SiteNameTaken(f"a site named {name!r} already exists") from None
            raise
        site = Site(
            id=int(site_id), name=name, site_key=site_key, origins=tuple(origins), created_at=now
        )
        return NewSite(site=site, admin_token=token)

    async def set_site_origins(self, site_id: int, origins: Sequence[str]) -> None:
        await self._readers.execute(
            "UPDATE sites SET origins = $1::jsonb WHERE id = $2",
            msgspec.json.encode(list(origins)).decode(),
            site_id,
        )

    async def list_sites(self) -> list[Site]:
        rows = await self._readers.fetch(f"SELECT {_SITE_COLUMNS} FROM sites ORDER BY id")
        return [_site_from_row(row) for row in rows]

    async def site_by_key(self, site_key: str) -> Site | None:
        row = await self._readers.fetchrow(
            f"SELECT {_SITE_COLUMNS} FROM sites WHERE site_key = $1", site_key
        )
        return _site_from_row(row) if row is not None else None

    async def site_by_name(self, name: str) -> Site | None:
        row = await self._readers.fetchrow(
            f"SELECT {_SITE_COLUMNS} FROM sites WHERE name = $1", name
        )
        return _site_from_row(row) if row is not None else None

    # -- ingest and profiles -------------------------------------------------------------

    async def profile(self, site_id: int, visitor: str) -> Profile:
        async def load() -> Profile:
            return decode_profile(
                await self._readers.fetchval(
                    "SELECT data FROM profiles WHERE site_id = $1 AND visitor = $2",
                    site_id,
                    visitor,
                )
            )

        return await self._profiles.read_through((site_id, visitor), load)

    async def count_signals(self, site_id: int, batch_id: str | None = None) -> int:
        if batch_id is None:
            value = await self._readers.fetchval(
                "SELECT COUNT(*) FROM signals WHERE site_id = $1", site_id
            )
        else:
            value = await self._readers.fetchval(
                "SELECT COUNT(*) FROM signals WHERE site_id = $1 AND batch_id = $2",
                site_id,
                batch_id,
            )
        return int(value)

    # -- visitor rights, site administration, retention -----------------------------------

    async def erase_visitor(self, site_id: int, visitor: str) -> dict[str, int]:
        # One transaction (readers are never blocked by it). This process's writer commits
        # the batches it already accepted first, or they would store the visitor again after
        # it; every other process does the same when the erase's notification reaches it, and
        # then sweeps the visitor (`_sweep`).
        await self._writer.settled()
        return await self._delete_in_transaction(
            _erase_statements(site_id, visitor),
            notify=notify_payloads([(site_id, visitor)], erased=True),
            after_commit=lambda: self._forget_visitor(site_id, visitor),
        )

    def _sweep_later(self, keys: list[tuple[int, str]]) -> None:
        """An erasure's notification arrived (this process's own too): sweep in the background."""
        task = asyncio.get_running_loop().create_task(self._sweep(keys))
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def _sweep(self, keys: list[tuple[int, str]]) -> None:
        """Once this process's writer has committed every batch it accepted before the erasure
        was heard, delete the erased visitors again: a batch of theirs queued here while
        another process erased them is gone a few milliseconds after that erase answered."""
        try:
            await self._writer.settled()
            for site_id, visitor in keys:
                await self._delete_in_transaction(
                    _erase_statements(site_id, visitor),
                    notify=notify_payloads([(site_id, visitor)]),  # no sweep of the sweep
                    after_commit=functools.partial(self._forget_visitor, site_id, visitor),
                )
        except Exception:
            log.exception("sweep after an erasure failed; a next erase of the visitor removes it")

    @contextlib.asynccontextmanager
    async def visitor_reader(self, site_id: int, visitor: str) -> AsyncIterator[VisitorReader]:
        # One read-only REPEATABLE READ transaction: every table from the same snapshot.
        async with (
            self._readers.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield _PostgresVisitorReader(conn, site_id, visitor)

    async def site_admin_token_hash(self, site_id: int) -> str | None:
        value = await self._readers.fetchval(
            "SELECT admin_token_hash FROM sites WHERE id = $1", site_id
        )
        return None if value is None else str(value)

    async def rotate_site_key(self, site_id: int) -> str:
        key = new_site_key()
        await self._readers.execute("UPDATE sites SET site_key = $1 WHERE id = $2", key, site_id)
        return key

    async def delete_site(self, site_id: int) -> dict[str, int]:
        await self._writer.settled()  # the site's queued batches first, deleted with the rest
        removed = await self._delete_in_transaction(
            [("signals", _delete_signals("site_id = $1", "site_id = $1"), (site_id,))]
            + [(table, f"DELETE FROM {table} WHERE site_id = $1", (site_id,))
               for table in ("batches", "profiles", *SITE_TABLES, *ROLLUP_SITE_TABLES)]
            + [("sites", "DELETE FROM sites WHERE id = $1", (site_id,))],
            notify=notify_payloads(site=site_id),
            after_commit=lambda: self._forget_site(site_id),
        )  # fmt: skip
        return {
            k: v
            for k, v in removed.items()
            if k not in ROLLUP_SITE_TABLES and (v or k not in SITE_TABLES)
        }

    async def site_stats(self, site_id: int) -> SiteStats:
        row = await self._readers.fetchrow(
            "SELECT (SELECT COUNT(*) FROM signal_rows WHERE site_id = $1) + "
            f"{_array_signals('site_id = $1')} AS signals, "
            "(SELECT COUNT(*) FROM batches WHERE site_id = $1) AS batches, "
            "(SELECT COUNT(DISTINCT visitor) FROM batches WHERE site_id = $1) AS visitors, "
            "(SELECT COUNT(*) FROM profiles WHERE site_id = $1) AS profiles",
            site_id,
        )
        return SiteStats(
            signals=int(row["signals"]),
            batches=int(row["batches"]),
            visitors=int(row["visitors"]),
            profiles=int(row["profiles"]),
        )

    async def prune(self, before: float) -> dict[str, int]:
        # Row locks only: concurrent ingest is not blocked, so one statement per table.
        # A batch's array of signals goes with its row: the signals' condition is the batches'.
        older, batches = _numbered(RETAINED["signals"]), _numbered(RETAINED["batches"])
        return await self._delete_in_transaction(
            [("signals", _delete_signals(older, batches), (before,))]
            + [(table, _numbered(f"DELETE FROM {table} WHERE {where}"), (before,))
               for table, where in RETAINED.items() if table != "signals"]
        )  # fmt: skip

    async def _delete_in_transaction(
        self,
        statements: Sequence[tuple[str, str, Sequence[Any]]],
        *,
        notify: Sequence[str] = (),
        after_commit: Callable[[], None] | None = None,
    ) -> dict[str, int]:
        removed: dict[str, int] = {}
        async with self._readers.acquire() as conn, conn.transaction():
            for table, sql, params in statements:
                if sql.startswith("WITH"):  # answers its count itself (``_delete_signals``)
                    removed[table] = int(await conn.fetchval(sql, *params))
                    continue
                status = await conn.execute(sql, *params)
                removed[table] = int(str(status).rsplit(" ", 1)[-1])
            await send_notifications(conn, notify)
        if after_commit is not None:
            after_commit()
        return removed

    async def sql_execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status = await self._readers.execute(_numbered(sql), *params)
        tail = str(status).rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def sql_fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = await self._readers.fetch(_numbered(sql), *params)
        return [tuple(r) for r in rows]

    async def site_profiles(self, site_id: int) -> list[tuple[str, Profile]]:
        rows = await self._readers.fetch(
            "SELECT visitor, data FROM profiles WHERE site_id = $1 ORDER BY visitor", site_id
        )
        return [(str(r["visitor"]), decode_profile(r["data"])) for r in rows]

    async def _flush(self, batches: Sequence[IngestBatch]) -> list[IngestResult]:
        """Commit one group; after a lost connection, reconnect on the next group."""
        conn = self._writer_conn
        if conn is None or self._signal_ids is None:
            raise StorageClosed("PostgreSQL storage is not open")
        began = self._profiles.epoch
        try:
            if conn.is_closed():
                conn = self._writer_conn = await asyncpg.connect(self._dsn)
            async with conn.transaction():
                rollups = self._new_rollups()
                results, profiles, changed = await _write_group(
                    conn, batches, self._signal_ids, rollups
                )
                payloads = notify_payloads(changed)
                if rollups:  # the NOTIFY rides on the rollups' statement
                    await write_postgres_rollups(conn, rollups, notify=(CHANNEL, payloads))
                else:
                    await send_notifications(conn, payloads)
            for key, profile in profiles.items():
                self._profiles.store(key, profile, unless_changed_since=began)
            return results
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"PostgreSQL write failed: {exc}") from exc
        except asyncpg.DeadlockDetectedError as exc:  # another process; the client retries
            raise StorageError(f"PostgreSQL write failed: {exc}") from exc


class _PostgresVisitorReader(VisitorReader):
    """Server-side cursors inside the export's read-only transaction."""

    def __init__(self, conn: Any, site_id: int, visitor: str) -> None:
        self._conn, self._site_id, self._visitor = conn, site_id, visitor

    async def rows(
        self, table: VisitorTable, *, offset: int, limit: int, chunk: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        prefix = "s." if table.through_batches else ""
        columns = ", ".join(
            f"{prefix}{c}::text" if c in table.json_columns else prefix + c for c in table.columns
        )
        source = (
            f"{_SIGNALS_OF_BATCHES} WHERE b.site_id = $1 AND b.visitor = $2"
            if table.through_batches
            else f"{table.name} WHERE site_id = $1 AND visitor = $2"
        )
        cursor = await self._conn.cursor(
            f"SELECT {columns} FROM {source} ORDER BY {table.order} LIMIT $3 OFFSET $4",
            self._site_id,
            self._visitor,
            limit,
            offset,
        )
        while rows := await cursor.fetch(chunk):
            yield [tuple(r) for r in rows]


# The first ids of $1 new blocks of signal ids (server/storage/signal_ids.py), in one round trip.
_TAKE_SIGNAL_BLOCKS: Final = (
    "SELECT array_agg(nextval('signals_id_seq')) FROM generate_series(1, $1::int)"
)
# The sequence as ``nextval`` finds it (the search path), and its increment: the block size.
_SIGNAL_ID_BLOCK: Final = (
    "SELECT seqincrement FROM pg_sequence WHERE seqrelid = 'signals_id_seq'::regclass"
)
# A visitor's signals (aliased s, beside their batch b), with the columns of the ``signals``
# view (migration 0009): a batch stored since then carries them as its JSON array, each
# element's id its position in the batch's span; an older batch's are the rows of
# ``signal_rows`` in its id span that belong to it (spans of concurrent processes interleave).
# Each older span is read by its own range scan of the primary key: ``OFFSET 0`` keeps the
# planner from flattening the subquery into a join, which it planned as a scan of the whole
# table (its row estimates for a range between two columns are guesses).
_OLDER_SIGNALS_OF_BATCH: Final = (
    "SELECT * FROM signal_rows s WHERE b.signals IS NULL "
    "AND s.id BETWEEN b.first_signal AND b.last_signal AND s.site_id = b.site_id "
    "AND s.visitor = b.visitor AND s.batch_id = b.batch_id OFFSET 0"
)
_SIGNALS_OF_BATCHES: Final = (
    f"batches b CROSS JOIN LATERAL (({_OLDER_SIGNALS_OF_BATCH}) UNION ALL "
    "SELECT b.site_id, b.visitor, b.session, b.batch_id, e.body ->> 'kind', e.body::jsonb, "
    "b.received_at, b.first_signal + e.n - 1 "
    "FROM json_array_elements(b.signals::json) WITH ORDINALITY AS e(body, n)) s"
)


def _array_signals(batches: str) -> str:
    """A scalar subquery: how many signals the arrays of the batches matching ``batches`` hold
    (each row's ``signal_count``, written with its array; no array is parsed)."""
    return (
        "(SELECT COALESCE(SUM(signal_count), 0) "
        f"FROM batches WHERE ({batches}) AND signals IS NOT NULL)"
    )


def _delete_signals(older: str, batches: str) -> str:
    """A statement that deletes the older signal rows matching ``older`` and answers how many
    signals go in all: those rows, and the arrays of the batches matching ``batches``, which
    the caller deletes next (an array goes with its row). Run it before that delete."""
    return (
        f"WITH gone AS (DELETE FROM signal_rows WHERE {older} RETURNING 1) "
        f"SELECT (SELECT COUNT(*) FROM gone) + {_array_signals(batches)}"
    )


# A visitor's signals ($1 = site_id, $2 = visitor): the older rows' ids, one delete by
# primary key, and the count of the arrays their batches carry.
_ERASE_SIGNALS: Final = _delete_signals(
    "id = ANY(ARRAY(SELECT s.id FROM batches b CROSS JOIN LATERAL "
    f"({_OLDER_SIGNALS_OF_BATCH}) s WHERE b.site_id = $1 AND b.visitor = $2))",
    "site_id = $1 AND visitor = $2",
)


def _erase_statements(site_id: int, visitor: str) -> list[tuple[str, str, tuple[int, str]]]:
    """Every table's delete of one visitor; the signals through the batches first, which must
    still be there to find them."""
    where = "WHERE site_id = $1 AND visitor = $2"
    return [("signals", _ERASE_SIGNALS, (site_id, visitor))] + [
        (t.name, f"DELETE FROM {t.name} {where}", (site_id, visitor))
        for t in VISITOR_TABLES
        if t.name != "signals"
    ]


async def _write_group(
    conn: Any,
    batches: Sequence[IngestBatch],
    signal_ids: SignalIds,
    rollups: RollupBuffer | None = None,
) -> tuple[list[IngestResult], dict[tuple[int, str], Profile], list[tuple[int, str]]]:
    """Write one group; also return the profiles it read or wrote and the keys it changed.

    The group's rollups are only counted into ``rollups`` here: the caller writes them in the
    statement that sends the group's NOTIFY (one round trip for both)."""
    # Insert in key order: a batch retried to two processes at once is inserted by both
    # groups, and in differing orders each would wait for the other's uncommitted row
    # (measured: "deadlock detected" under load, the group answered 503).
    # Each batch's signals go into its row, as their JSON array (migration 0009). Their ids
    # are still reserved (from this writer's block of the sequence, migration 0008) and each
    # batch records its span: the ``signals`` view numbers an array's elements from its
    # ``first_signal``, and a visitor's export orders their batches by it. A batch of at most
    # one block's signals (every collect's) gets consecutive ids; a duplicate's stay unused.
    sizes = [b.signals.count for b in batches]
    needed = signal_ids.blocks_needed(sizes)
    blocks = list(await conn.fetchval(_TAKE_SIGNAL_BLOCKS, needed)) if needed else []
    ids = signal_ids.take(sizes, blocks)  # by position in ``batches``
    order = sorted(range(len(batches)), key=lambda n: (batches[n].site_id, batches[n].batch_id))
    ordered = [batches[n] for n in order]
    rows = await conn.fetch(
        "INSERT INTO batches (site_id, batch_id, visitor, session, signal_count, received_at, "
        "first_signal, last_signal, signals) "
        "SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], "
        "$5::int[], $6::float8[], $7::bigint[], $8::bigint[], $9::text[]) "
        "ON CONFLICT DO NOTHING RETURNING site_id, batch_id",
        [b.site_id for b in ordered],
        [b.batch_id for b in ordered],
        [b.visitor for b in ordered],
        [b.session for b in ordered],
        [b.signals.count for b in ordered],
        [b.received_at for b in ordered],
        [min(ids[n], default=None) for n in order],
        [max(ids[n], default=None) for n in order],
        [b.signals.json for b in ordered],
    )
    inserted = {(int(r["site_id"]), str(r["batch_id"])) for r in rows}
    is_new = first_occurrences(batches, inserted)

    keys = sorted({(b.site_id, b.visitor) for b in batches})
    updating = sorted(
        {
            (b.site_id, b.visitor)
            for b, new in zip(batches, is_new, strict=True)
            if new and b.observations
        }
    )
    if updating:
        # Make sure the rows exist so FOR UPDATE can lock them (other processes may be
        # updating the same visitor); an empty JSON object decodes as an empty profile.
        await conn.execute(
            "INSERT INTO profiles (site_id, visitor, data, updated_at) "
            "SELECT k.site_id, k.visitor, '{}'::jsonb, 0 "
            "FROM unnest($1::bigint[], $2::text[]) AS k(site_id, visitor) "
            "ON CONFLICT DO NOTHING",
            [k[0] for k in updating],
            [k[1] for k in updating],
        )
    profile_rows = await conn.fetch(
        "SELECT p.site_id, p.visitor, p.data FROM profiles p "
        "JOIN unnest($1::bigint[], $2::text[]) AS k(site_id, visitor) "
        "ON p.site_id = k.site_id AND p.visitor = k.visitor "
        "ORDER BY p.site_id, p.visitor " + ("FOR UPDATE OF p" if updating else ""),
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    profiles = {
        (int(r["site_id"]), str(r["visitor"])): decode_profile(r["data"]) for r in profile_rows
    }

    applied = apply_group(batches, is_new, profiles)
    # The profiles go to PostgreSQL now; the report's rollups are computed on this loop while
    # the server writes them (bench/report.py: the overlap keeps their cost out of ingest).
    upserted = asyncio.ensure_future(_upsert_profiles(conn, profiles, applied.changed))
    try:
        await asyncio.sleep(0)
        applied.add_rollups(rollups)
    finally:
        await upserted
    return applied.results, profiles, list(applied.changed)


async def _upsert_profiles(
    conn: Any, profiles: dict[tuple[int, str], Profile], changed: dict[tuple[int, str], float]
) -> None:
    if changed:
        await conn.execute(
            "INSERT INTO profiles (site_id, visitor, data, updated_at) "
            "SELECT k.site_id, k.visitor, k.data::jsonb, k.updated_at "
            "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[]) "
            "AS k(site_id, visitor, data, updated_at) "
            "ON CONFLICT (site_id, visitor) DO UPDATE "
            "SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
            [k[0] for k in changed],
            [k[1] for k in changed],
            [encode_profile(profiles[k]) for k in changed],
            list(changed.values()),
        )


def _numbered(sql: str) -> str:
    """``?`` placeholders (the portable SQL of ``Storage``'s hints methods) → ``$1, $2 …``."""
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


def _site_from_row(row: Any) -> Site:
    return Site(
        id=int(row["id"]),
        name=str(row["name"]),
        site_key=str(row["site_key"]),
        origins=tuple(_origins_decoder.decode(row["origins"])),
        created_at=float(row["created_at"]),
    )
