"""Several PostgreSQL writers on one database lose no change to a profile.

Several server processes write to one database, each with its own writer, and a visitor's
batches may reach any of them at once: a group creates its new visitors' rows and locks every
row it changes (``FOR UPDATE``, in key order) before its read-modify-write. These tests run
two storages (two writers) on one database, with the visitor new to both, new to one, known
to both, or created by another transaction while the group runs."""

from __future__ import annotations

import asyncio
import time

import pytest

from rapport.server.profiles.model import Observations, Profile, encode_profile
from rapport.server.storage import Storage, create_storage
from rapport.server.storage.base import IngestBatch, StoredSignal, StoredSignals

pytestmark = pytest.mark.anyio

ORIGIN = "https://shop.example"


def purchase(site_id: int, visitor: str, batch_id: str) -> IngestBatch:
    """A batch that adds one purchase to its visitor's profile."""
    return IngestBatch(
        site_id=site_id, visitor=visitor, session="session-0001", batch_id=batch_id,
        received_at=time.time(),
        signals=StoredSignals.of([StoredSignal("action", '{"kind":"action","name":"purchase"}')]),
        observations=Observations(actions=frozenset({"purchase"})),
    )  # fmt: skip


async def purchases(storage: Storage, site_id: int) -> dict[str, int]:
    return {visitor: p.purchases for visitor, p in await storage.site_profiles(site_id)}


async def test_two_writers_creating_the_same_new_visitors_at_once_lose_no_change(
    postgres_url: str,
) -> None:
    async with create_storage(postgres_url) as one, create_storage(postgres_url) as two:
        site = (await one.create_site("S", [ORIGIN], now=time.time())).site
        visitors = [f"v{n:02d}" for n in range(30)]
        await asyncio.gather(*(
            (one, two)[n % 2].ingest(purchase(site.id, visitor, f"{visitor}-{n}"))
            for n in range(6)
            for visitor in visitors
        ))  # fmt: skip
        assert await purchases(one, site.id) == dict.fromkeys(visitors, 6)
        ((rows,),) = await one.sql_fetch("SELECT COUNT(*) FROM profiles")
        assert rows == len(visitors)


async def test_a_profile_another_transaction_creates_while_the_group_runs_is_waited_for_and_updated(
    postgres_url: str,
) -> None:
    """Another transaction has inserted the visitor's row and not committed: the group's
    insert waits for it, and once it commits the group reads and updates that row."""
    import asyncpg  # type: ignore[import-untyped]

    async with create_storage(postgres_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=time.time())).site
        # The writer's statements prepared (asyncpg reads their types from the catalog once,
        # which would wait for the open transaction below).
        await storage.ingest(purchase(site.id, "first", "b-0"))
        other = await asyncpg.connect(postgres_url)
        try:
            creating = other.transaction()
            await creating.start()
            await other.execute(
                "INSERT INTO profiles (site_id, visitor, data, updated_at) "
                "VALUES ($1, 'v', $2::jsonb, 0)",
                site.id,
                encode_profile(Profile(purchases=5)),
            )
            stored = asyncio.ensure_future(storage.ingest(purchase(site.id, "v", "b-1")))
            while not await other.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO profiles%'"
            ):
                assert not stored.done()
                await asyncio.sleep(0.01)
            await creating.commit()
            assert not (await stored).duplicate
        finally:
            await other.close()
        assert await purchases(storage, site.id) == {"first": 1, "v": 6}


async def test_a_group_of_known_and_new_visitors_updates_both(postgres_url: str) -> None:
    async with create_storage(postgres_url) as one, create_storage(postgres_url) as two:
        site = (await one.create_site("S", [ORIGIN], now=time.time())).site
        known = [f"known-{n}" for n in range(5)]
        for visitor in known:
            await one.ingest(purchase(site.id, visitor, f"{visitor}-first"))
        new = [f"new-{n}" for n in range(5)]
        await asyncio.gather(*(
            storage.ingest(purchase(site.id, visitor, f"{visitor}-{name}"))
            for visitor in known + new
            for name, storage in (("a", one), ("b", two))
        ))  # fmt: skip
        assert await purchases(two, site.id) == {
            **dict.fromkeys(known, 3),
            **dict.fromkeys(new, 2),
        }


async def test_a_duplicate_batch_changes_no_profile(postgres_url: str) -> None:
    async with create_storage(postgres_url) as one, create_storage(postgres_url) as two:
        site = (await one.create_site("S", [ORIGIN], now=time.time())).site
        results = await asyncio.gather(
            one.ingest(purchase(site.id, "v", "same-batch")),
            two.ingest(purchase(site.id, "v", "same-batch")),
        )
        assert sorted(r.duplicate for r in results) == [False, True]
        assert await purchases(one, site.id) == {"v": 1}
