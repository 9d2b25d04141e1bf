"""Drop ``schema_migrations``, the bookkeeping of the numbered migrations before Alembic.

A database created by them is adopted by stamping the revision matching its highest
version (see ``server.storage.migrate``); from then on ``alembic_version`` is the record,
and fresh and adopted databases end up with the same tables.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS schema_migrations")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
