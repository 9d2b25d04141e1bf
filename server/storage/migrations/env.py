"""Alembic environment: migrate on the connection that :mod:`server.storage.migrate` passes.

The caller has already begun the transaction and taken the migration lock, so Alembic
runs every pending revision inside that one transaction (``begin_transaction`` below is a
no-op for an external transaction). There is no offline (``--sql``) mode and no URL here:
run migrations with ``rapport db upgrade``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("Rapport's migrations run through `rapport db upgrade`, on a connection")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
