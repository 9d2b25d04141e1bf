"""Storage semantics, run against SQLite and PostgreSQL alike (see ``database_url``)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from rapport.server.profiles import Observations, Profile
from rapport.server.storage import (
    IngestBatch,
    SiteNameTaken,
    Storage,
    StorageClosed,
    StoredSignal,
    StoredSignals,
    create_storage,
)
from rapport.server.storage.migrate import head_revision

pytestmark = pytest.mark.anyio

ORIGIN = "https://shop.example"


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    async with create_storage(database_url) as opened:
        yield opened


def make_batch(
    site_id: int,
    batch_id: str,
    *,
    visitor: str = "visitor-0001",
    session: str = "session-0001",
    signals: int = 2,
    patterns: dict[str, float] | None = None,
    actions: frozenset[str] = frozenset(),
    at: float = 1000.0,
) -> IngestBatch:
    return IngestBatch(
        site_id=site_id,
        visitor=visitor,
        session=session,
        batch_id=batch_id,
        received_at=at,
        signals=StoredSignals.of(
            [StoredSignal("clicks", f'{{"kind":"clicks","count":{i}}}') for i in range(signals)]
        ),
        observations=Observations(patterns=patterns or {}, actions=actions),
    )


async def test_opening_applies_every_migration(storage: Storage) -> None:
    assert await storage.schema_version() == int(head_revision())


async def test_reopening_a_migrated_database_is_a_no_op(database_url: str) -> None:
    async with create_storage(database_url) as first:
        site = (await first.create_site("Shop", [ORIGIN], now=1.0)).site
    async with create_storage(database_url) as second:
        assert await second.schema_version() == int(head_revision())
        assert await second.site_by_key(site.site_key) == site


async def test_created_site_is_found_by_key_and_by_name(storage: Storage) -> None:
    created = await storage.create_site("Shop", [ORIGIN, "http://localhost:8001"], now=5.0)
    assert created.admin_token.startswith("sk_")
    assert created.site.site_key.startswith("pk_")
    assert await storage.site_by_key(created.site.site_key) == created.site
    assert await storage.site_by_name("Shop") == created.site
    assert await storage.list_sites() == [created.site]


async def test_unknown_site_key_finds_nothing(storage: Storage) -> None:
    assert await storage.site_by_key("pk_doesnotexist") is None


async def test_site_names_are_unique(storage: Storage) -> None:
    await storage.create_site("Shop", [ORIGIN], now=1.0)
    with pytest.raises(SiteNameTaken):
        await storage.create_site("Shop", [ORIGIN], now=2.0)


async def test_site_origins_can_be_replaced(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.set_site_origins(site.id, [ORIGIN, "http://localhost:8001"])
    found = await storage.site_by_key(site.site_key)
    assert found is not None
    assert found.origins == (ORIGIN, "http://localhost:8001")


async def test_new_batch_is_stored_with_its_signals(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    result = await storage.ingest(make_batch(site.id, "batch-0001", signals=3))
    assert result.duplicate is False
    assert await storage.count_signals(site.id, "batch-0001") == 3


#: Bodies a parser could re-render differently: escapes, non-ASCII, exponents, big numbers.
AWKWARD_BODIES = [
    r'{"kind":"context","lang":"fr-CA","title":"Caf\u00e9 \\ \"quoted\" 😀 é"}',
    '{"kind":"pattern","name":"hesitant","score":1e-07}',
    '{"kind":"counter","name":"n","count":12345678901234567890}',
    '{"kind":"dwell","section":"reviews","seconds":0.30000000000000004}',
]
AWKWARD_ROWS = [StoredSignal(json.loads(b)["kind"], b) for b in AWKWARD_BODIES]


async def test_each_signal_is_stored_as_the_json_it_was_given_with_its_kind(
    storage: Storage,
) -> None:
    """SQLite splits a batch's array into rows itself: each element's text must come back
    byte for byte (PostgreSQL's ``jsonb`` keeps the value, not the text)."""
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    batch = make_batch(site.id, "batch-0001")
    await storage.ingest(dataclasses.replace(batch, signals=StoredSignals.of(AWKWARD_ROWS)))
    order = "rowid" if storage.backend == "sqlite" else "id"
    stored = await storage.sql_fetch(f"SELECT kind, body FROM signals ORDER BY {order}")
    assert [kind for kind, _ in stored] == ["context", "pattern", "counter", "dwell"]
    assert [json.loads(body) for _, body in stored] == [json.loads(b) for b in AWKWARD_BODIES]
    if storage.backend == "sqlite":
        assert [body for _, body in stored] == AWKWARD_BODIES


def test_stored_signals_give_back_each_row_as_it_was_given() -> None:
    signals = StoredSignals.of(AWKWARD_ROWS)
    assert signals.count == 4
    assert signals.rows() == AWKWARD_ROWS
    assert StoredSignals.of([]) == StoredSignals("[]", 0)


@pytest.mark.parametrize(
    "body", ['{"kind":"scroll","depth":0.5}', '{"depth":0.5}', "[1]", "not json"]
)
def test_a_signal_row_whose_body_is_not_tagged_with_its_kind_is_refused(body: str) -> None:
    """Storage takes a signal's kind from its body's tag: a row disagreeing would be stored
    under another kind, or fail the whole group in the writer."""
    with pytest.raises(ValueError, match="is not tagged kind 'clicks'"):
        StoredSignals.of([StoredSignal("clicks", body)])


async def test_retried_batch_is_a_duplicate_and_not_stored_again(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.ingest(make_batch(site.id, "batch-0001", signals=3))
    again = await storage.ingest(make_batch(site.id, "batch-0001", signals=3))
    assert again.duplicate is True
    assert await storage.count_signals(site.id) == 3


async def test_concurrent_copies_of_one_batch_are_stored_once(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    results = await asyncio.gather(
        *(storage.ingest(make_batch(site.id, "batch-same", signals=2)) for _ in range(5))
    )
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True]
    assert await storage.count_signals(site.id) == 2


async def test_batch_ids_are_scoped_per_site(storage: Storage) -> None:
    a = (await storage.create_site("A", [ORIGIN], now=1.0)).site
    b = (await storage.create_site("B", [ORIGIN], now=1.0)).site
    first = await storage.ingest(make_batch(a.id, "batch-0001"))
    second = await storage.ingest(make_batch(b.id, "batch-0001"))
    assert (first.duplicate, second.duplicate) == (False, False)


async def test_many_concurrent_batches_are_all_committed(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    results = await asyncio.gather(
        *(
            storage.ingest(make_batch(site.id, f"batch-{i:04d}", visitor=f"visitor-{i % 7:04d}"))
            for i in range(120)
        )
    )
    assert not any(r.duplicate for r in results)
    assert await storage.count_signals(site.id) == 240


async def test_ingest_updates_and_returns_the_visitor_profile(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    result = await storage.ingest(
        make_batch(
            site.id,
            "batch-0001",
            patterns={"hesitant": 0.74},
            actions=frozenset({"add_to_cart"}),
            at=1234.5,
        )
    )
    assert result.profile.patterns["hesitant"].score == 0.74
    assert result.profile.patterns["hesitant"].session == "session-0001"
    assert result.profile.session_actions("session-0001") == {"add_to_cart"}
    assert await storage.profile(site.id, "visitor-0001") == result.profile


async def test_a_duplicate_batch_does_not_change_the_profile(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.ingest(make_batch(site.id, "batch-0001", patterns={"hesitant": 0.7}))
    await storage.ingest(make_batch(site.id, "batch-0002", patterns={"hesitant": 0.2}))
    again = await storage.ingest(make_batch(site.id, "batch-0001", patterns={"hesitant": 0.7}))
    assert again.duplicate is True
    assert again.profile.patterns["hesitant"].score == 0.2


async def test_batches_of_one_visitor_in_one_group_apply_in_order(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await asyncio.gather(
        *(
            storage.ingest(make_batch(site.id, f"batch-{i:04d}", patterns={"hesitant": i / 10}))
            for i in range(1, 6)
        )
    )
    profile = await storage.profile(site.id, "visitor-0001")
    assert profile.patterns["hesitant"].score == 0.5


async def test_profile_of_an_unknown_visitor_is_empty(storage: Storage) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    assert await storage.profile(site.id, "visitor-none") == Profile()


async def test_profiles_are_scoped_per_site(storage: Storage) -> None:
    a = (await storage.create_site("A", [ORIGIN], now=1.0)).site
    b = (await storage.create_site("B", [ORIGIN], now=1.0)).site
    await storage.ingest(make_batch(a.id, "batch-0001", patterns={"hesitant": 0.9}))
    assert await storage.profile(b.id, "visitor-0001") == Profile()


async def test_close_commits_everything_already_queued(database_url: str) -> None:
    storage = create_storage(database_url)
    await storage.open()
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    pending = [
        asyncio.ensure_future(storage.ingest(make_batch(site.id, f"batch-{i:04d}")))
        for i in range(30)
    ]
    await asyncio.sleep(0)  # let every submit reach the queue
    await storage.close()
    assert all(not task.result().duplicate for task in pending)
    async with create_storage(database_url) as reopened:
        assert await reopened.count_signals(site.id) == 60


async def test_ingest_after_close_is_refused(database_url: str) -> None:
    storage = create_storage(database_url)
    await storage.open()
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    await storage.close()
    with pytest.raises(StorageClosed):
        await storage.ingest(make_batch(site.id, "batch-0001"))


class HeldWriter:
    """Holds the storage's writer before its next commit, so that batches can be left
    waiting in its queue (the real flush runs once the hold is released)."""

    def __init__(self, storage: Storage) -> None:
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        real_flush = storage._flush  # type: ignore[attr-defined]

        async def held(batches: Sequence[IngestBatch]) -> Any:
            self.holding.set()
            await self.release.wait()
            return await real_flush(batches)

        storage._flush = held  # type: ignore[attr-defined]


async def queue_two_batches_behind_a_held_commit(
    storage: Storage, site_id: int
) -> tuple[HeldWriter, list[asyncio.Future[Any]]]:
    held = HeldWriter(storage)
    first = asyncio.ensure_future(storage.ingest(make_batch(site_id, "batch-0001")))
    await held.holding.wait()  # the writer took the first batch and waits before its commit
    second = asyncio.ensure_future(storage.ingest(make_batch(site_id, "batch-0002")))
    await asyncio.sleep(0)  # the second batch waits in the queue
    return held, [first, second]


async def test_an_erase_also_removes_the_visitors_batches_still_queued_in_the_writer(
    storage: Storage,
) -> None:
    """A batch received just before an erase, still waiting for its commit, must not store
    the erased visitor again once the erase has answered."""
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    held, batches = await queue_two_batches_behind_a_held_commit(storage, site.id)
    erasing = asyncio.ensure_future(storage.erase_visitor(site.id, "visitor-0001"))
    await asyncio.sleep(0.3)  # room for the erase to finish if it did not wait for the writer
    held.release.set()
    removed = await erasing
    assert all(not batch.result().duplicate for batch in batches)
    assert removed["batches"] == 2 and removed["signals"] == 4
    assert await storage.count_signals(site.id) == 0
    assert (await storage.site_stats(site.id)).batches == 0
    assert await storage.profile(site.id, "visitor-0001") == Profile()


async def test_a_site_deletion_also_removes_its_batches_still_queued_in_the_writer(
    storage: Storage,
) -> None:
    site = (await storage.create_site("Shop", [ORIGIN], now=1.0)).site
    held, batches = await queue_two_batches_behind_a_held_commit(storage, site.id)
    deleting = asyncio.ensure_future(storage.delete_site(site.id))
    await asyncio.sleep(0.3)
    held.release.set()
    removed = await deleting
    await asyncio.gather(*batches)
    assert removed["batches"] == 2 and removed["signals"] == 4
    assert await storage.count_signals(site.id) == 0


async def test_an_erase_in_one_process_also_removes_the_batches_queued_in_another(
    database_url: str,
) -> None:
    """Several PostgreSQL processes: the erasing one can wait only for its own writer. Every
    other process hears the erase, commits what it had accepted, then sweeps the visitor."""
    if not database_url.startswith("postgresql"):
        pytest.skip("one process per SQLite file")
    async with create_storage(database_url) as erasing, create_storage(database_url) as other:
        site = (await erasing.create_site("Shop", [ORIGIN], now=1.0)).site
        held, batches = await queue_two_batches_behind_a_held_commit(other, site.id)
        await erasing.erase_visitor(site.id, "visitor-0001")
        held.release.set()
        assert all(not batch.duplicate for batch in await asyncio.gather(*batches))
        for _ in range(200):  # the sweep follows the other process's commit
            if (await erasing.site_stats(site.id)).batches == 0:
                break
            await asyncio.sleep(0.05)
        assert (await erasing.site_stats(site.id)).batches == 0
        assert await erasing.count_signals(site.id) == 0
        assert await erasing.profile(site.id, "visitor-0001") == Profile()
        assert await other.profile(site.id, "visitor-0001") == Profile()
