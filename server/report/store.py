"""The report's tables: written inside the writer's transaction, read with portable SQL.

Writing is backend-specific (the writer holds an aiosqlite or an asyncpg connection in its
open transaction); reading goes through :meth:`Storage.sql_fetch` with ``?`` placeholders, so
one query text serves both backends.
"""

from __future__ import annotations

from typing import Any, Final

from server.report.rollup import RollupBuffer
from server.storage.base import Storage

__all__ = [
    "ROLLUP_SITE_TABLES",
    "read_aggregates",
    "read_reach",
    "read_reach_totals",
    "write_postgres",
    "write_sqlite",
]

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
    "INSERT INTO report_reach (site_id, hour, cell, visitor) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)


async def write_sqlite(conn: Any, rollups: RollupBuffer) -> None:
    """Write one group's rollups on the writer's aiosqlite connection (in its transaction)."""
    if aggregates := rollups.aggregate_rows():
        async with conn.executemany(_SQLITE_AGG, aggregates):
            pass
    if reach := rollups.reach_rows():
        async with conn.executemany(_SQLITE_REACH, reach):
            pass


async def write_postgres(conn: Any, rollups: RollupBuffer) -> None:
    """Write one group's rollups on the writer's asyncpg connection (in its transaction).

    Aggregates are upserted in key order, like the batches, so that two processes' groups
    never wait for each other's rows in opposite orders.
    """
    if aggregates := sorted(rollups.aggregate_rows()):
        await conn.execute(
            "INSERT INTO report_rollup (site_id, hour, cell, n, total) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], "
            "$5::float8[]) "
            "ON CONFLICT (site_id, hour, cell) DO UPDATE "
            "SET n = report_rollup.n + EXCLUDED.n, total = report_rollup.total + EXCLUDED.total",
            *(list(column) for column in zip(*aggregates, strict=True)),
        )
    if reach := rollups.reach_rows():
        await conn.execute(
            "INSERT INTO report_reach (site_id, hour, cell, visitor) "
            "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) "
            "ON CONFLICT DO NOTHING",
            *(list(column) for column in zip(*reach, strict=True)),
        )


async def read_aggregates(
    storage: Storage, site_id: int, first_hour: int, last_hour: int, offset: int
) -> list[tuple[str, int, int, float]]:
    """``(cell, local day, n, total)`` over the hours; ``offset`` is the zone's UTC offset (s)."""
    rows = await storage.sql_fetch(
        "SELECT cell, (hour * 3600 + ?) / 86400 AS day, SUM(n), SUM(total) FROM report_rollup "
        "WHERE site_id = ? AND hour BETWEEN ? AND ? GROUP BY cell, day",
        (offset, site_id, first_hour, last_hour),
    )
    return [(str(c), int(d), int(n), float(t)) for c, d, n, t in rows]


async def read_reach(
    storage: Storage, site_id: int, first_hour: int, last_hour: int, offset: int
) -> list[tuple[str, int, int]]:
    """``(cell, local day, distinct visitors)`` over the hours."""
    rows = await storage.sql_fetch(
        "SELECT cell, (hour * 3600 + ?) / 86400 AS day, COUNT(DISTINCT visitor) "
        "FROM report_reach WHERE site_id = ? AND hour BETWEEN ? AND ? GROUP BY cell, day",
        (offset, site_id, first_hour, last_hour),
    )
    return [(str(c), int(d), int(v)) for c, d, v in rows]


async def read_reach_totals(
    storage: Storage, site_id: int, first_hour: int, last_hour: int
) -> dict[str, int]:
    """Cell → distinct visitors over the whole range."""
    rows = await storage.sql_fetch(
        "SELECT cell, COUNT(DISTINCT visitor) FROM report_reach "
        "WHERE site_id = ? AND hour BETWEEN ? AND ? GROUP BY cell",
        (site_id, first_hour, last_hour),
    )
    return {str(c): int(v) for c, v in rows}
