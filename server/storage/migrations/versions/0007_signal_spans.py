"""A visitor's signals are found through their batches; ``signals`` loses its visitor index.

Migration 0004's ``signals (site_id, visitor)`` index halved storage-level ingest (every signal
added an entry in another place of the tree: SQLite 0.51×, PostgreSQL 0.48×,
``bench/visitor_index_cost.py``). Instead each ``batches`` row records the ids of its first and
last signal (``first_signal``, ``last_signal``; NULL for a batch without signals), and export
and erasure read a visitor's batches (indexed by visitor) and then each batch's id range.
The writer assigns a group's ids itself, so a batch's signals lie inside its range; the
range may also hold other batches' signals (on PostgreSQL, ids handed out to concurrent
processes interleave), so every lookup also matches the signal's ``batch_id`` and visitor.

* SQLite: the id is the ``rowid`` (the table's own key: no new index).
* PostgreSQL: ``signals`` gets an ``id bigint`` from a sequence, and a primary key on it
  (appended at the right edge of its tree: cheap, unlike the visitor index).
* ``batches_visitor`` becomes ``(site_id, visitor, first_signal)``: an export reads a
  visitor's batches in signal order, so its signals come out in id order without a sort.
* Existing batches are backfilled with the lowest and highest id of their signals.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

SQLITE: tuple[str, ...] = (
    "ALTER TABLE batches ADD COLUMN first_signal INTEGER",
    "ALTER TABLE batches ADD COLUMN last_signal INTEGER",
    "CREATE TEMP TABLE signal_spans AS SELECT site_id, batch_id, min(rowid) AS first_signal, "
    "max(rowid) AS last_signal FROM signals GROUP BY site_id, batch_id",
    "UPDATE batches SET first_signal = s.first_signal, last_signal = s.last_signal "
    "FROM temp.signal_spans AS s WHERE s.site_id = batches.site_id "
    "AND s.batch_id = batches.batch_id",
    "DROP TABLE temp.signal_spans",
    "DROP INDEX signals_visitor",
    "DROP INDEX batches_visitor",
    "CREATE INDEX batches_visitor ON batches (site_id, visitor, first_signal)",
)

POSTGRESQL: tuple[str, ...] = (
    # Existing rows are numbered in their physical (insertion) order.
    "ALTER TABLE signals ADD COLUMN id BIGSERIAL",
    "ALTER TABLE signals ADD CONSTRAINT signals_pkey PRIMARY KEY (id)",
    "ALTER TABLE batches ADD COLUMN first_signal BIGINT, ADD COLUMN last_signal BIGINT",
    "UPDATE batches b SET first_signal = s.first_signal, last_signal = s.last_signal "
    "FROM (SELECT site_id, batch_id, min(id) AS first_signal, max(id) AS last_signal "
    "FROM signals GROUP BY site_id, batch_id) s "
    "WHERE s.site_id = b.site_id AND s.batch_id = b.batch_id",
    "DROP INDEX signals_visitor",
    "DROP INDEX batches_visitor",
    "CREATE INDEX batches_visitor ON batches (site_id, visitor, first_signal)",
)


def upgrade() -> None:
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
