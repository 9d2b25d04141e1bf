"""The hot-profile cache: hints read committed profiles without a database round trip,
and never serve a profile that a commit replaced or an erasure removed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from rapport.server.profiles import Observations, Profile, decode_profile
from rapport.server.storage import IngestBatch, Storage, StoredSignal, StoredSignals, create_storage
from rapport.server.storage.profile_cache import ProfileCache
from rapport.server.storage.visitor_tables import visitor_table

pytestmark = pytest.mark.anyio

ORIGIN = "https://shop.example"


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    async with create_storage(database_url) as opened:
        yield opened


def hesitant(site_id: int, batch_id: str, score: float, visitor: str = "v-1") -> IngestBatch:
    return IngestBatch(
        site_id=site_id,
        visitor=visitor,
        session="s-1",
        batch_id=batch_id,
        received_at=1000.0,
        signals=StoredSignals.of([StoredSignal("clicks", '{"kind":"clicks","count":1}')]),
        observations=Observations(patterns={"hesitant": score}),
    )


def test_a_read_that_raced_a_store_does_not_put_back_the_old_profile() -> None:
    cache = ProfileCache()
    epoch = cache.epoch  # a reader starts reading the database
    cache.store((1, "v"), Profile(visits=2))  # the writer commits a newer profile
    cache.fill((1, "v"), Profile(visits=1), read_at_epoch=epoch)  # the reader's stale row
    assert cache.get((1, "v")) == Profile(visits=2)


def test_a_read_that_raced_an_erasure_is_not_cached() -> None:
    cache = ProfileCache()
    epoch = cache.epoch
    cache.discard((1, "v"))
    cache.fill((1, "v"), Profile(visits=1), read_at_epoch=epoch)
    assert cache.get((1, "v")) is None


def test_the_least_recently_used_profile_is_evicted_first() -> None:
    cache = ProfileCache(capacity=2)
    cache.store((1, "a"), Profile(visits=1))
    cache.store((1, "b"), Profile(visits=2))
    cache.get((1, "a"))
    cache.store((1, "c"), Profile(visits=3))
    assert cache.get((1, "b")) is None
    assert cache.get((1, "a")) == Profile(visits=1)
    assert len(cache) == 2


def test_discarding_a_site_keeps_other_sites_profiles() -> None:
    cache = ProfileCache()
    cache.store((1, "a"), Profile(visits=1))
    cache.store((2, "a"), Profile(visits=2))
    cache.discard_site(1)
    assert cache.get((1, "a")) is None
    assert cache.get((2, "a")) == Profile(visits=2)


async def test_each_read_after_an_ingest_sees_that_ingest(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    for n in range(1, 6):
        await storage.profile(site.id, "v-1")  # warm whatever the backend caches
        await storage.ingest(hesitant(site.id, f"b-{n}", n / 10))
        assert (await storage.profile(site.id, "v-1")).patterns["hesitant"].score == n / 10


async def test_an_erased_visitors_profile_is_not_served_afterwards(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.ingest(hesitant(site.id, "b-1", 0.9))
    assert (await storage.profile(site.id, "v-1")).patterns
    await storage.erase_visitor(site.id, "v-1")
    assert await storage.profile(site.id, "v-1") == Profile()


async def test_a_deleted_sites_profiles_are_not_served_afterwards(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.ingest(hesitant(site.id, "b-1", 0.9))
    assert (await storage.profile(site.id, "v-1")).patterns
    await storage.delete_site(site.id)
    assert await storage.profile(site.id, "v-1") == Profile()


async def test_erasure_racing_ingest_of_the_same_visitor_leaves_cache_and_file_agreeing(
    storage: Storage,
) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    for round_ in range(20):
        await asyncio.gather(
            storage.ingest(hesitant(site.id, f"b-{round_}", 0.5)),
            storage.erase_visitor(site.id, "v-1"),
            storage.profile(site.id, "v-1"),
        )
        served = await storage.profile(site.id, "v-1")
        async with storage.visitor_reader(site.id, "v-1") as reader:
            rows = [
                row
                async for chunk in reader.rows(
                    visitor_table("profiles"), offset=0, limit=1, chunk=1
                )
                for row in chunk
            ]
        assert served == decode_profile(rows[0][0] if rows else None)
