"""PostgreSQL keeps a batch's signals in its ``batches`` row, as the one JSON array it arrived as.

A row per signal made signal storage most of PostgreSQL's work per collect: measured with the
ingest bench (durable, two workers, four alternating pairs), its processes spent 99–106 µs of
CPU per 20-signal batch with the rows written by ``COPY``, and 40–50 µs with the array in the
batch's row; collect rose from a median of 94 k to 136 k stored events/s (bench/README.md,
issue 19). Each signal's tuple header, primary-key entry and WAL record went; the bytes stay.

* ``batches.signals`` (``text``): the batch's signals, the array's text exactly as the server
  validated it (``StoredSignals.json``); ``NULL`` for a batch stored before this migration.
* the table ``signals`` is renamed ``signal_rows``: the signals of those older batches, which
  stay where they are (no rewrite of a large table inside a migration).
* ``signals`` becomes a view of both, with the columns the table had, so every query that
  reads ``signals`` (an owner's own SQL included) reads every signal. A signal from an array
  gets the id its position gives it in its batch's span: the writer still reserves the span,
  so ids stay unique and in the same order as before for every batch of at most one block of
  ids (4,096 signals; a collect holds at most 200). Counting through the view parses every
  array it reads: the server's own counts of a whole site add up ``signal_count`` instead.

Writes go to the tables, never through the view: erasure, retention and a site's deletion
delete the older rows from ``signal_rows`` and the arrays with their ``batches`` rows
(``server/storage/postgres.py``). Processes still running the older code fail their groups
(their ``COPY`` into a view is refused, the transaction rolls back, the clients retry): upgrade
every process together.

SQLite: nothing to do (its writer splits the array into rows in C, ``json_each``, which costs
it less than the rows cost PostgreSQL).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

POSTGRESQL: tuple[str, ...] = (
    "ALTER TABLE signals RENAME TO signal_rows",
    "ALTER TABLE signal_rows RENAME CONSTRAINT signals_pkey TO signal_rows_pkey",
    "ALTER TABLE batches ADD COLUMN signals TEXT",
    """
    CREATE VIEW signals AS
    SELECT site_id, visitor, session, batch_id, kind, body, received_at, id FROM signal_rows
    UNION ALL
    SELECT b.site_id, b.visitor, b.session, b.batch_id, e.body ->> 'kind', e.body::jsonb,
           b.received_at, b.first_signal + e.n - 1
    FROM batches b
    CROSS JOIN LATERAL json_array_elements(b.signals::json) WITH ORDINALITY AS e(body, n)
    WHERE b.signals IS NOT NULL
    """,
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
