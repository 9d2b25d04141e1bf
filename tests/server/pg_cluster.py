"""A throwaway PostgreSQL cluster for the tests (``server/testing/postgres.py``, with a skip).

The session fixture ``postgres_admin_url`` runs one for the whole suite; the outage test runs
its own, because it stops it on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from rapport.server.testing.postgres import PgCluster, cluster, free_port, pg_bin

__all__ = ["PgCluster", "free_port", "pg_bin", "rows_per_batch", "throwaway_cluster"]


@contextmanager
def throwaway_cluster(*, synchronous_commit: bool = False) -> Iterator[PgCluster]:
    """A started cluster (``fsync=off``), removed afterwards; the test skips when none can be
    made."""
    if pg_bin() is None:
        pytest.skip("PostgreSQL binaries not found and RAPPORT_TEST_POSTGRES_URL not set")
    try:
        made = cluster(synchronous_commit=synchronous_commit)
        started = made.__enter__()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        yield started
    finally:
        made.__exit__(None, None, None)


def rows_per_batch(url: str) -> dict[str, tuple[int, int]]:
    """batch id → (batch rows, signal rows), counted in the database itself."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def fetch() -> dict[str, tuple[int, int]]:
        conn = await asyncpg.connect(url)
        try:
            batches = await conn.fetch("SELECT batch_id, COUNT(*) FROM batches GROUP BY batch_id")
            signals = await conn.fetch("SELECT batch_id, COUNT(*) FROM signals GROUP BY batch_id")
        finally:
            await conn.close()
        per_batch = {r[0]: int(r[1]) for r in signals}
        return {r[0]: (int(r[1]), per_batch.get(r[0], 0)) for r in batches}

    return asyncio.run(fetch())
