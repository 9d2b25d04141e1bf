"""Report reach as one row per (site, hour, visitor) with a bitmap of cells.

0005 wrote one ``report_reach`` row per (site, hour, cell, visitor): the writer upserted about
one row per touched cell of every batch, and the report counted distinct visitors over all of
them. Ingest with rollups ran at 0.56× (SQLite) and 0.31× (PostgreSQL) of ingest without
(``bench/report.py``). Now a visitor's cells of an hour are four 64-bit words
(:mod:`server.report.cells` gives each cell its bit), ORed in place by the writer; the report
ORs a visitor's rows per day and counts bits. Existing rows are converted (cells outside the
list are dropped: nothing wrote any).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from rapport.server.report.cells import BIT, to_words

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def _create(dialect: str) -> None:
    integer = "INTEGER" if dialect == "sqlite" else "BIGINT"
    suffix = " WITHOUT ROWID" if dialect == "sqlite" else ""
    op.execute(
        f"""
        CREATE TABLE report_reach (
            site_id {integer} NOT NULL,
            hour {integer} NOT NULL,
            visitor TEXT NOT NULL,
            w0 {integer} NOT NULL DEFAULT 0,
            w1 {integer} NOT NULL DEFAULT 0,
            w2 {integer} NOT NULL DEFAULT 0,
            w3 {integer} NOT NULL DEFAULT 0,
            PRIMARY KEY (site_id, hour, visitor)
        ){suffix}
        """
    )
    op.execute("CREATE INDEX report_reach_visitor ON report_reach (site_id, visitor)")


def upgrade() -> None:
    bind = op.get_bind()
    old = bind.execute(sa.text("SELECT site_id, hour, cell, visitor FROM report_reach")).all()
    bits: dict[tuple[int, int, str], int] = defaultdict(int)
    for site_id, hour, cell, visitor in old:
        bits[(int(site_id), int(hour), str(visitor))] |= BIT.get(str(cell), 0)
    op.execute("DROP TABLE report_reach")
    _create(bind.dialect.name)
    rows = [
        dict(zip(("s", "h", "v", "w0", "w1", "w2", "w3"), (*key, *to_words(b)), strict=True))
        for key, b in bits.items()
    ]
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO report_reach (site_id, hour, visitor, w0, w1, w2, w3) "
                "VALUES (:s, :h, :v, :w0, :w1, :w2, :w3)"
            ),
            rows,
        )


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
