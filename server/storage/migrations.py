"""Numbered schema migrations, one list per SQL dialect.

Deliberately minimal: each migration is a version number, a name and its statements; the
applied versions are recorded in ``schema_migrations`` and each migration runs in its own
transaction under a lock, so two processes starting at once cannot both apply it. A later
issue may switch to a migration tool; keep versions append-only until then.

Design notes shared by both dialects:

* ``signals`` is append-only and has **no secondary index**: one makes ingest ~10× slower.
  Anything a request needs to look up lives in ``profiles`` (one row per visitor).
* ``batches`` has ``PRIMARY KEY (site_id, batch_id)``: it is the idempotency record.
* No foreign keys, so both backends behave alike; deleting a site (a later issue) must
  delete its rows explicitly.
* Times are unix seconds (float), the server's clock at receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["POSTGRES_MIGRATIONS", "SQLITE_MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step; ``statements`` run in order inside one transaction."""

    version: int
    name: str
    statements: tuple[str, ...]


SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial",
        (
            """
            CREATE TABLE sites (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                site_key TEXT NOT NULL UNIQUE,
                admin_token_hash TEXT NOT NULL,
                origins TEXT NOT NULL DEFAULT '[]',
                created_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE batches (
                site_id INTEGER NOT NULL,
                batch_id TEXT NOT NULL,
                visitor TEXT NOT NULL,
                session TEXT NOT NULL,
                signal_count INTEGER NOT NULL,
                received_at REAL NOT NULL,
                PRIMARY KEY (site_id, batch_id)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE signals (
                site_id INTEGER NOT NULL,
                visitor TEXT NOT NULL,
                session TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                body TEXT NOT NULL,
                received_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE profiles (
                site_id INTEGER NOT NULL,
                visitor TEXT NOT NULL,
                data TEXT NOT NULL,
                updated_at REAL NOT NULL,
                PRIMARY KEY (site_id, visitor)
            ) WITHOUT ROWID
            """,
        ),
    ),
    Migration(
        2,
        "hints_engine",
        (
            """
            CREATE TABLE site_config (
                site_id INTEGER NOT NULL,
                name TEXT NOT NULL,
                data TEXT NOT NULL,
                updated_at REAL NOT NULL,
                PRIMARY KEY (site_id, name)
            )
            """,
            """
            CREATE TABLE hint_feedback (
                site_id INTEGER NOT NULL,
                visitor TEXT NOT NULL,
                hint_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                at REAL NOT NULL
            )
            """,
            "CREATE INDEX hint_feedback_visitor ON hint_feedback (site_id, visitor)",
            """
            CREATE TABLE hint_log (
                site_id INTEGER NOT NULL,
                visitor TEXT NOT NULL,
                hint_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                pattern TEXT NOT NULL,
                strength REAL NOT NULL,
                arm TEXT NOT NULL,
                first_at REAL NOT NULL,
                PRIMARY KEY (site_id, visitor, hint_id)
            )
            """,
            """
            CREATE TABLE webhooks (
                id INTEGER PRIMARY KEY,
                site_id INTEGER NOT NULL,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                secret TEXT NOT NULL,
                created_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE webhook_deliveries (
                id INTEGER PRIMARY KEY,
                webhook_id INTEGER NOT NULL,
                site_id INTEGER NOT NULL,
                event TEXT NOT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at REAL NOT NULL,
                last_status INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                created_at REAL NOT NULL,
                delivered_at REAL NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        ),
    ),
)

POSTGRES_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial",
        (
            """
            CREATE TABLE sites (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                site_key TEXT NOT NULL UNIQUE,
                admin_token_hash TEXT NOT NULL,
                origins JSONB NOT NULL DEFAULT '[]'::jsonb,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE batches (
                site_id BIGINT NOT NULL,
                batch_id TEXT NOT NULL,
                visitor TEXT NOT NULL,
                session TEXT NOT NULL,
                signal_count INTEGER NOT NULL,
                received_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (site_id, batch_id)
            )
            """,
            """
            CREATE TABLE signals (
                site_id BIGINT NOT NULL,
                visitor TEXT NOT NULL,
                session TEXT NOT NULL,
                batch_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                body JSONB NOT NULL,
                received_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE profiles (
                site_id BIGINT NOT NULL,
                visitor TEXT NOT NULL,
                data JSONB NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (site_id, visitor)
            )
            """,
        ),
    ),
    Migration(
        2,
        "hints_engine",
        (
            """
            CREATE TABLE site_config (
                site_id BIGINT NOT NULL,
                name TEXT NOT NULL,
                data TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (site_id, name)
            )
            """,
            """
            CREATE TABLE hint_feedback (
                site_id BIGINT NOT NULL,
                visitor TEXT NOT NULL,
                hint_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX hint_feedback_visitor ON hint_feedback (site_id, visitor)",
            """
            CREATE TABLE hint_log (
                site_id BIGINT NOT NULL,
                visitor TEXT NOT NULL,
                hint_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                pattern TEXT NOT NULL,
                strength DOUBLE PRECISION NOT NULL,
                arm TEXT NOT NULL,
                first_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (site_id, visitor, hint_id)
            )
            """,
            """
            CREATE TABLE webhooks (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                site_id BIGINT NOT NULL,
                url TEXT NOT NULL,
                events TEXT NOT NULL,
                secret TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE webhook_deliveries (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                webhook_id BIGINT NOT NULL,
                site_id BIGINT NOT NULL,
                event TEXT NOT NULL,
                body TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at DOUBLE PRECISION NOT NULL,
                last_status INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                delivered_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        ),
    ),
)
