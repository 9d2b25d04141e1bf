"""PostgreSQL hands out signal ids in blocks of 4,096: one ``nextval`` per block, not per signal.

The writer (``server/storage/signal_ids.py``) keeps the rest of its block and asks the sequence
again only when the block runs out: a group commit no longer spends a round trip and a
sequence call per signal on its ids. ``nextval`` still never returns a value twice, so the
blocks of several processes never overlap; an id a process used before this migration is below
every block after it, and a process still running the older code (one id per ``nextval``)
takes the first id of a block that no one else will use.

SQLite: nothing to do (the single writer takes the next ``rowid``s itself).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

#: Ids per ``nextval`` of ``signals_id_seq`` (the writer reads it back from the sequence).
BLOCK = 4096


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER SEQUENCE signals_id_seq INCREMENT BY {BLOCK}")


def downgrade() -> None:
    raise NotImplementedError("downgrades are not supported: restore a backup")
