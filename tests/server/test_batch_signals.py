"""Issue 19: PostgreSQL keeps a batch's signals in its ``batches`` row, as the JSON array that
arrived (migration 0009), and the ``signals`` view shows them as rows beside those of the
batches stored before (``signal_rows``). Every reader and every delete treats both alike: the
view, the visitor's export, the counts, erasure, retention and a site's deletion.
SQLite is unchanged (its writer splits the array into rows): its tests are the storage's own."""

from __future__ import annotations

import json

import pytest

from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, Storage, StoredSignal, StoredSignals, create_storage
from tests.server.test_migrations import execute, query
from tests.server.test_signal_spans import exported, stored, upgrade_to

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"


def batch(site_id: int, visitor: str, batch_id: str, counts: range, at: float) -> IngestBatch:
    return IngestBatch(
        site_id=site_id, visitor=visitor, session="s-new", batch_id=batch_id, received_at=at,
        signals=StoredSignals.of(
            [StoredSignal("clicks", f'{{"kind":"clicks","count":{n}}}') for n in counts]
        ),
        observations=Observations(),
    )  # fmt: skip


async def test_a_batch_is_one_row_with_its_signals_array_as_it_arrived(postgres_url: str) -> None:
    signals = StoredSignals.of([
        StoredSignal("clicks", '{"kind":"clicks","count":12345678901234567890}'),
        StoredSignal("tone", '{"kind":"tone","label":"caf\\u00e9 \\"x\\"","score":1e-3}'),
    ])  # fmt: skip
    async with create_storage(postgres_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=1.0)).site
        await storage.ingest(IngestBatch(site.id, "a", "s-1", "b-1", 5.0, signals, Observations()))
        [(text, first, last)] = await storage.sql_fetch(
            "SELECT signals, first_signal, last_signal FROM batches"
        )
        assert text == signals.json  # byte for byte
        assert await storage.sql_fetch("SELECT COUNT(*) FROM signal_rows") == [(0,)]
        rows = await storage.sql_fetch(
            "SELECT id, batch_id, session, kind, body, received_at FROM signals ORDER BY id"
        )
        assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
            (first, "b-1", "s-1", "clicks", 5.0), (last, "b-1", "s-1", "tone", 5.0)
        ]  # fmt: skip
        assert [json.loads(r[4]) for r in rows] == [json.loads(s.body) for s in signals.rows()]


async def test_a_duplicate_batch_stores_its_array_once(postgres_url: str) -> None:
    async with create_storage(postgres_url) as storage:
        site = (await storage.create_site("S", [ORIGIN], now=1.0)).site
        for _ in range(2):
            await storage.ingest(batch(site.id, "a", "b-1", range(3), 5.0))
        assert await storage.count_signals(site.id) == 3
        assert await storage.sql_fetch("SELECT COUNT(*) FROM batches") == [(1,)]


async def _older_and_newer(url: str) -> tuple[Storage, int]:
    """A database from before 0009 (visitor ``a``: 2 signals in ``x-1``; ``b``: 1 in ``x-2``,
    received at 10), upgraded by opening it, then newer batches (``a``: 3 in ``y-1``; ``b``: 2
    in ``y-2``, received at 20). The caller closes the storage."""
    await upgrade_to(url, "0008")
    await execute(url, *[
        "INSERT INTO sites (id, name, site_key, admin_token_hash, origins, created_at) "
        "VALUES (1, 'S', 'key', 'hash', '[]', 0)",
        "INSERT INTO batches (site_id, batch_id, visitor, session, signal_count, received_at, "
        "first_signal, last_signal) VALUES (1, 'x-1', 'a', 's-old', 2, 10, 1, 3), "
        "(1, 'x-2', 'b', 's-old', 1, 10, 2, 2)",
        *(f"INSERT INTO signals (id, site_id, visitor, session, batch_id, kind, body, "
          f"received_at) VALUES ({i}, 1, '{v}', 's-old', '{b}', 'clicks', "
          f"'{{\"kind\": \"clicks\", \"count\": {n}}}'::jsonb, 10)"
          for i, v, b, n in ((1, "a", "x-1", 100), (2, "b", "x-2", 200), (3, "a", "x-1", 101))),
        "SELECT setval('signals_id_seq', 4096)",
        "SELECT setval(pg_get_serial_sequence('sites', 'id'), 1)",
    ])  # fmt: skip
    storage = create_storage(url)
    await storage.open()  # upgrades to head
    await storage.ingest(batch(1, "a", "y-1", range(3), 20.0))
    await storage.ingest(batch(1, "b", "y-2", range(2), 20.0))
    return storage, 1


async def test_signals_from_before_0009_and_after_are_read_alike(postgres_url: str) -> None:
    storage, site = await _older_and_newer(postgres_url)
    try:
        rows = await exported(storage, site, "a")  # kind, body, batch_id, session, at
        assert [(r[2], r[3], json.loads(r[1])["count"]) for r in rows] == [
            ("x-1", "s-old", 100), ("x-1", "s-old", 101),
            ("y-1", "s-new", 0), ("y-1", "s-new", 1), ("y-1", "s-new", 2),
        ]  # fmt: skip
        # Both layouts export the same JSON text for the same value (jsonb's output).
        assert rows[0][1] == '{"kind": "clicks", "count": 100}'
        assert rows[2][1] == '{"kind": "clicks", "count": 0}'
        assert (await stored(storage, site, "a"), await stored(storage, site, "b")) == (5, 3)
        assert await storage.count_signals(site) == 8
        assert await storage.count_signals(site, "x-1") == 2
        assert await storage.count_signals(site, "y-1") == 3
        assert (await storage.site_stats(site)).signals == 8
        ids = [r[0] for r in await storage.sql_fetch("SELECT id FROM signals ORDER BY id")]
        assert len(set(ids)) == 8 and ids[:3] == [1, 2, 3] and min(ids[3:]) > 4096
    finally:
        await storage.close()


async def test_erasure_removes_and_counts_a_visitors_signals_of_both_layouts(
    postgres_url: str,
) -> None:
    storage, site = await _older_and_newer(postgres_url)
    try:
        removed = await storage.erase_visitor(site, "a")
        assert (removed["signals"], removed["batches"]) == (5, 2)
        assert await exported(storage, site, "a") == []
        assert await stored(storage, site, "b") == 3  # the other visitor's, both layouts
        assert await query(postgres_url, "SELECT batch_id FROM signal_rows") == [("x-2",)]
    finally:
        await storage.close()


async def test_retention_prunes_old_signals_of_both_layouts_with_their_batches(
    postgres_url: str,
) -> None:
    storage, site = await _older_and_newer(postgres_url)
    try:
        await storage.ingest(batch(site, "a", "z-1", range(4), 30.0))
        removed = await storage.prune(25.0)
        assert (removed["signals"], removed["batches"]) == (8, 4)
        assert await storage.count_signals(site) == 4
        assert await storage.sql_fetch("SELECT batch_id FROM batches") == [("z-1",)]
    finally:
        await storage.close()


async def test_deleting_a_site_counts_its_signals_of_both_layouts(postgres_url: str) -> None:
    storage, site = await _older_and_newer(postgres_url)
    try:
        other = (await storage.create_site("Other", [ORIGIN], now=1.0)).site
        await storage.ingest(batch(other.id, "c", "o-1", range(2), 20.0))
        removed = await storage.delete_site(site)
        assert (removed["signals"], removed["batches"]) == (8, 4)
        assert await storage.count_signals(other.id) == 2
        assert await query(postgres_url, "SELECT COUNT(*) FROM signal_rows") == [(0,)]
    finally:
        await storage.close()
