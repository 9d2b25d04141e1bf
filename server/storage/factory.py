"""Pick the backend for a database URL."""

from __future__ import annotations

from rapport.server.storage.base import Storage
from rapport.server.storage.urls import parse_database_url

__all__ = ["create_storage"]


def create_storage(
    url: str, *, max_queue: int = 1024, max_group: int = 256, enqueue_timeout: float = 5.0
) -> Storage:
    """A not-yet-opened :class:`Storage` for ``url`` (``sqlite:///…`` or ``postgresql://…``).

    Backends are imported lazily so that, e.g., the CLI does not load asyncpg for SQLite.
    """
    parsed = parse_database_url(url)
    if parsed.backend == "sqlite":
        from rapport.server.storage.sqlite import SQLiteStorage

        assert parsed.path is not None
        return SQLiteStorage(
            parsed.path, max_queue=max_queue, max_group=max_group, enqueue_timeout=enqueue_timeout
        )
    from rapport.server.storage.postgres import PostgresStorage

    assert parsed.dsn is not None
    return PostgresStorage(
        parsed.dsn, max_queue=max_queue, max_group=max_group, enqueue_timeout=enqueue_timeout
    )
