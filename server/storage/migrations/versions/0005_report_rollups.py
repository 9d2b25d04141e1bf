"""Report rollups (hourly aggregates and per-visitor reach) and dashboard sign-in.

* ``report_rollup``: per site, UTC hour and cell (``pattern:hesitant``, ``topic:price`` …) a
  count and a sum — aggregates only, no visitor in them.
* ``report_reach``: which visitors touched a cell in an hour, so the report can count
  *distinct* visitors for the k-anonymity rule. The only per-visitor rollup: erasing a visitor
  deletes their rows here and their export lists them (``VISITOR_TABLES``); an index on
  ``(site_id, visitor)`` keeps both to that visitor's rows.
* ``dashboard_sessions`` / ``dashboard_links``: the dashboard's sign-in sessions and one-time
  links, stored as SHA-256 of their tokens (several server processes share them).

Hours, not days: the site's time zone is chosen when reading, so changing it re-buckets the
whole history.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

SQLITE: tuple[str, ...] = (
    """
    CREATE TABLE report_rollup (
        site_id INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        cell TEXT NOT NULL,
        n INTEGER NOT NULL,
        total REAL NOT NULL,
        PRIMARY KEY (site_id, hour, cell)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE report_reach (
        site_id INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        cell TEXT NOT NULL,
        visitor TEXT NOT NULL,
        PRIMARY KEY (site_id, hour, cell, visitor)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX report_reach_visitor ON report_reach (site_id, visitor)",
    """
    CREATE TABLE dashboard_sessions (
        token_hash TEXT PRIMARY KEY,
        site_id INTEGER NOT NULL,
        csrf TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE dashboard_links (
        token_hash TEXT PRIMARY KEY,
        site_id INTEGER NOT NULL,
        expires_at REAL NOT NULL
    )
    """,
)

POSTGRESQL: tuple[str, ...] = (
    """
    CREATE TABLE report_rollup (
        site_id BIGINT NOT NULL,
        hour BIGINT NOT NULL,
        cell TEXT NOT NULL,
        n BIGINT NOT NULL,
        total DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (site_id, hour, cell)
    )
    """,
    """
    CREATE TABLE report_reach (
        site_id BIGINT NOT NULL,
        hour BIGINT NOT NULL,
        cell TEXT NOT NULL,
        visitor TEXT NOT NULL,
        PRIMARY KEY (site_id, hour, cell, visitor)
    )
    """,
    "CREATE INDEX report_reach_visitor ON report_reach (site_id, visitor)",
    """
    CREATE TABLE dashboard_sessions (
        token_hash TEXT PRIMARY KEY,
        site_id BIGINT NOT NULL,
        csrf TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )
    """,
    """
    CREATE TABLE dashboard_links (
        token_hash TEXT PRIMARY KEY,
        site_id BIGINT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    )
    """,
)


def upgrade() -> None:
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
