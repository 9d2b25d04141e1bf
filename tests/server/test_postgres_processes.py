"""Several server processes on one PostgreSQL database: each caches hot profiles, and a change
or erasure made by one process reaches the others' caches through NOTIFY; their group commits
never deadlock on each other."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from rapport.server.profiles import Observations, Profile
from rapport.server.storage import IngestBatch, Storage, StoredSignal, StoredSignals, create_storage
from rapport.server.storage.postgres_notify import notify_payloads

pytestmark = pytest.mark.anyio


@pytest.fixture
async def two_processes(postgres_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two storages on one database, as two ``rapport serve`` workers would have."""
    async with create_storage(postgres_url) as a, create_storage(postgres_url) as b:
        yield a, b


def hesitant(site_id: int, batch_id: str, score: float) -> IngestBatch:
    return IngestBatch(
        site_id=site_id,
        visitor="v-1",
        session="s-1",
        batch_id=batch_id,
        received_at=1000.0,
        signals=StoredSignals.of([StoredSignal("clicks", '{"kind":"clicks","count":1}')]),
        observations=Observations(patterns={"hesitant": score}),
    )


async def eventually(check: Callable[[], bool | Awaitable[bool]], seconds: float = 5.0) -> bool:
    """Whether ``check`` (plain or async) comes true within ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return True
        await asyncio.sleep(0.01)
    return False


def forgotten(storage: Storage, site_id: int, visitor: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await storage.profile(site_id, visitor) == Profile()

    return check


async def test_a_change_stored_by_one_process_is_served_by_the_other(
    two_processes: tuple[Storage, Storage],
) -> None:
    a, b = two_processes
    site = (await a.create_site("Shop", ["https://shop.example"], now=1.0)).site
    await b.ingest(hesitant(site.id, "batch-0001", 0.2))
    assert (await a.profile(site.id, "v-1")).patterns["hesitant"].score == 0.2  # now cached
    await b.ingest(hesitant(site.id, "batch-0002", 0.9))

    async def a_sees_it() -> bool:
        return (await a.profile(site.id, "v-1")).patterns["hesitant"].score == 0.9

    assert await eventually(a_sees_it)


async def test_an_erasure_by_one_process_empties_the_others_cache(
    two_processes: tuple[Storage, Storage],
) -> None:
    a, b = two_processes
    site = (await a.create_site("Shop", ["https://shop.example"], now=1.0)).site
    await a.ingest(hesitant(site.id, "batch-0001", 0.9))
    assert (await a.profile(site.id, "v-1")).patterns  # cached in a
    await b.erase_visitor(site.id, "v-1")
    assert await eventually(forgotten(a, site.id, "v-1"))


async def test_a_site_deleted_by_one_process_is_forgotten_by_the_other(
    two_processes: tuple[Storage, Storage],
) -> None:
    a, b = two_processes
    site = (await a.create_site("Shop", ["https://shop.example"], now=1.0)).site
    await a.ingest(hesitant(site.id, "batch-0001", 0.9))
    assert (await a.profile(site.id, "v-1")).patterns
    await b.delete_site(site.id)
    assert await eventually(forgotten(a, site.id, "v-1"))


async def test_after_losing_its_listener_a_process_reads_through_and_reconnects(
    two_processes: tuple[Storage, Storage],
) -> None:
    a, b = two_processes
    site = (await a.create_site("Shop", ["https://shop.example"], now=1.0)).site
    await b.ingest(hesitant(site.id, "batch-0001", 0.2))
    assert (await a.profile(site.id, "v-1")).patterns["hesitant"].score == 0.2
    listener = a._invalidations  # type: ignore[attr-defined]
    await b.sql_execute(  # what a network failure or a server restart would do
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
    )
    assert await eventually(lambda: not listener.listening)
    await b.ingest(hesitant(site.id, "batch-0002", 0.9))  # its NOTIFY reaches nobody
    assert (await a.profile(site.id, "v-1")).patterns["hesitant"].score == 0.9
    assert await eventually(lambda: listener.listening)


def test_notification_payloads_stay_under_postgresqls_limit() -> None:
    keys = [(7, f"visitor-{n:056d}") for n in range(1000)]
    payloads = notify_payloads(keys)
    assert len(payloads) > 1
    assert all(len(p.encode()) < 8000 for p in payloads)
    assert sum(p.count("visitor-") for p in payloads) == 1000


async def test_the_same_batches_reaching_two_processes_at_once_do_not_deadlock(
    postgres_url: str,
) -> None:
    """Both groups insert the shared batches, in whatever order they arrived."""
    import asyncpg  # type: ignore[import-untyped]

    from rapport.server.storage.postgres import _SIGNAL_ID_BLOCK, _write_group
    from rapport.server.storage.signal_ids import SignalIds

    async with create_storage(postgres_url) as storage:
        site = (await storage.create_site("Shop", ["https://shop.example"], now=1.0)).site
    a = await asyncpg.connect(postgres_url)
    b = await asyncpg.connect(postgres_url)
    blocks = {conn: SignalIds(await conn.fetchval(_SIGNAL_ID_BLOCK)) for conn in (a, b)}
    try:
        for round_ in range(10):
            shared = [hesitant(site.id, f"batch-{round_:02d}-{n:04d}", 0.5) for n in range(200)]

            async def write(conn: asyncpg.Connection, group: list[IngestBatch]) -> int:
                async with conn.transaction():
                    results, _, _ = await _write_group(conn, group, blocks[conn])
                return sum(not r.duplicate for r in results)

            stored = await asyncio.gather(write(a, shared), write(b, shared[::-1]))
            assert sum(stored) == len(shared)  # each stored once, by one of them
    finally:
        await a.close()
        await b.close()
