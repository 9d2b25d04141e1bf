"""Visitor rights at scale: per-visitor indexes, deliveries know their visitor, outcome keyspace.

* ``signals`` and ``batches`` get an index on ``(site_id, visitor)`` so that a visitor's
  export and erasure read only that visitor's rows (before, each scanned the whole table:
  ≈ 48 ms at 1 M rows, serialised by SQLite, so a few requests a second slowed every site).
  A batch's signals share one visitor, so a group commit touches one index page per batch.
* ``webhook_deliveries`` gets a ``visitor`` column (filled from the delivery body) and an
  index, so erasure deletes a visitor's deliveries (pending ones are then never sent) and
  export shows them.
* Outcomes reported by the site's server were stored under batch id ``outcome-<sha256>``,
  a valid collect batch id: a collect sent first with that id made the outcome a duplicate.
  They now live under ``outcome:<sha256>`` (``:`` is not allowed in collect ids); stored
  ones are renamed so that a retried outcome stays a duplicate.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_OUTCOMES = (
    "UPDATE {table} SET batch_id = 'outcome:' || substr(batch_id, 9) "
    "WHERE session = 'server-outcome' AND batch_id LIKE 'outcome-%'"
)

SQLITE: tuple[str, ...] = (
    "CREATE INDEX signals_visitor ON signals (site_id, visitor)",
    "CREATE INDEX batches_visitor ON batches (site_id, visitor)",
    "ALTER TABLE webhook_deliveries ADD COLUMN visitor TEXT",
    "UPDATE webhook_deliveries SET visitor = json_extract(body, '$.visitor') "
    "WHERE json_valid(body)",
    "CREATE INDEX webhook_deliveries_visitor ON webhook_deliveries (site_id, visitor)",
    _OUTCOMES.format(table="batches"),
    _OUTCOMES.format(table="signals"),
)

POSTGRESQL: tuple[str, ...] = (
    # received_at too: the export reads a visitor's signals in time order without a sort.
    "CREATE INDEX signals_visitor ON signals (site_id, visitor, received_at)",
    "CREATE INDEX batches_visitor ON batches (site_id, visitor)",
    "ALTER TABLE webhook_deliveries ADD COLUMN visitor TEXT",
    "UPDATE webhook_deliveries SET visitor = body::jsonb ->> 'visitor'",
    "CREATE INDEX webhook_deliveries_visitor ON webhook_deliveries (site_id, visitor)",
    _OUTCOMES.format(table="batches"),
    _OUTCOMES.format(table="signals"),
)


def upgrade() -> None:
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
