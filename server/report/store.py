"""The report's tables: written inside the writer's transaction, read with portable SQL.

Writing is backend-specific (the writer holds an aiosqlite or an asyncpg connection in its
open transaction); reading goes through :meth:`Storage.sql_fetch` with ``?`` placeholders, so
one query text serves both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from rapport.client_py.schema import PATTERNS
from rapport.server.report.cells import to_words
from rapport.server.report.rollup import RollupBuffer
from rapport.server.storage.base import Storage

__all__ = [
    "ROLLUP_SITE_TABLES",
    "read_aggregates",
    "read_reach",
    "sqlite_statements",
    "write_postgres",
]

#: The cells whose aggregates the report shows per day (traffic and patterns).
DAILY_AGGREGATES: Final = ("session", "camera_session", *(f"pattern:{p}" for p in PATTERNS))
#: Report and dashboard tables holding per-site rows (deleted with the site).
ROLLUP_SITE_TABLES: Final = (
    "report_rollup",
    "report_reach",
    "dashboard_sessions",
    "dashboard_links",
)

_SQLITE_AGG: Final = (
    "INSERT INTO report_rollup (site_id, hour, cell, n, total) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (site_id, hour, cell) DO UPDATE "
    "SET n = n + excluded.n, total = total + excluded.total"
)
_SQLITE_REACH: Final = (
    "INSERT INTO report_reach (site_id, hour, visitor, w0, w1, w2, w3) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (site_id, hour, visitor) DO UPDATE SET w0 = w0 | excluded.w0, "
    "w1 = w1 | excluded.w1, w2 = w2 | excluded.w2, w3 = w3 | excluded.w3"
)


def _reach_params(rollups: RollupBuffer) -> list[tuple[Any, ...]]:
    return [(s, h, v, *to_words(bits)) for s, h, v, bits in rollups.reach_rows()]


def sqlite_statements(rollups: RollupBuffer) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """One group's rollup upserts for the SQLite writer's connection (in its transaction):
    ``(sql, rows)`` for ``executemany``, none without rows. The writer queues them behind the
    group's profiles and awaits them with its other statements, so they cost no round trip of
    their own (bench/report.py)."""
    return [
        (sql, rows)
        for sql, rows in (
            (_SQLITE_AGG, rollups.aggregate_rows()),
            (_SQLITE_REACH, _reach_params(rollups)),
        )
        if rows
    ]


_PG_AGG: Final = (
    "INSERT INTO report_rollup (site_id, hour, cell, n, total) "
    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::float8[]) "
    "ON CONFLICT (site_id, hour, cell) DO UPDATE "
    "SET n = report_rollup.n + EXCLUDED.n, total = report_rollup.total + EXCLUDED.total"
)
_PG_REACH: Final = (
    "INSERT INTO report_reach AS r (site_id, hour, visitor, w0, w1, w2, w3) "
    "SELECT * FROM unnest($6::bigint[], $7::bigint[], $8::text[], $9::bigint[], "
    "$10::bigint[], $11::bigint[], $12::bigint[]) "
    "ON CONFLICT (site_id, hour, visitor) DO UPDATE SET w0 = r.w0 | EXCLUDED.w0, "
    "w1 = r.w1 | EXCLUDED.w1, w2 = r.w2 | EXCLUDED.w2, w3 = r.w3 | EXCLUDED.w3"
)
#: Both upserts and the group's NOTIFY in one statement: the rollups cost the writer no round
#: trip of their own (bench/report.py).
_PG_ALL: Final = (
    f"WITH aggregates AS ({_PG_AGG}), reach AS ({_PG_REACH}) "
    "SELECT pg_notify($13, p) FROM unnest($14::text[]) AS p"
)


async def write_postgres(
    conn: Any, rollups: RollupBuffer, *, notify: tuple[str, Sequence[str]]
) -> None:
    """Write one group's rollups on the writer's asyncpg connection (in its transaction),
    with the ``pg_notify`` calls the writer sends anyway (``notify``: channel and payloads):
    one round trip.

    Rows are upserted in key order, like the batches, so that two processes' groups never
    wait for each other's rows in opposite orders.
    """
    aggregates = sorted(rollups.aggregate_rows())
    reach = _reach_params(rollups)
    columns = [list(c) for c in zip(*aggregates, strict=True)] or [[]] * 5
    columns += [list(c) for c in zip(*reach, strict=True)] or [[]] * 7
    channel, payloads = notify
    await conn.execute(_PG_ALL, *columns, channel, list(payloads))


async def read_aggregates(
    storage: Storage, site_id: int, first_hour: int, last_hour: int, offset: int
) -> tuple[list[tuple[str, int, float]], list[tuple[str, int, int, float]]]:
    """``(cell, n, total)`` over the hours, and ``(cell, local day, n, total)`` for the
    :data:`DAILY_AGGREGATES` only (``offset``: the zone's UTC offset in seconds) — grouping
    every cell by day cost twice the time of grouping by cell (bench/report.py)."""
    totals = await storage.sql_fetch(
        "SELECT cell, SUM(n), SUM(total) FROM report_rollup "
        "WHERE site_id = ? AND hour BETWEEN ? AND ? GROUP BY cell",
        (site_id, first_hour, last_hour),
    )
    marks = ", ".join("?" * len(DAILY_AGGREGATES))
    daily = await storage.sql_fetch(
        "SELECT cell, (hour * 3600 + ?) / 86400 AS day, SUM(n), SUM(total) FROM report_rollup "
        f"WHERE site_id = ? AND hour BETWEEN ? AND ? AND cell IN ({marks}) GROUP BY cell, day",
        (offset, site_id, first_hour, last_hour, *DAILY_AGGREGATES),
    )
    return (
        [(str(c), int(n), float(t)) for c, n, t in totals],
        [(str(c), int(d), int(n), float(t)) for c, d, n, t in daily],
    )


async def read_reach(
    storage: Storage, site_id: int, first_hour: int, last_hour: int, offset: int
) -> list[tuple[Any, ...]]:
    """``(visitor, local day, w0, w1, w2, w3)`` per visitor-hour of the range."""
    return await storage.sql_fetch(
        "SELECT visitor, (hour * 3600 + ?) / 86400 AS day, w0, w1, w2, w3 "
        "FROM report_reach WHERE site_id = ? AND hour BETWEEN ? AND ?",
        (offset, site_id, first_hour, last_hour),
    )
