"""The SQLite writer commits a group in one trip to its own process, two when the group's guess
fails (server/storage/sqlite_group.py): however many batches the group holds, and whatever
fails between the trips, nothing is half-written and the next group commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, StoredSignal, StoredSignals
from rapport.server.storage.sqlite import SQLiteStorage
from rapport.server.storage.sqlite_group import open_group
from rapport.server.storage.sqlite_writer_process import WriterProcess

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"


def batch(
    site_id: int, batch_id: str, *, visitor: str = "v", count: int = 3,
    pattern: str = "hesitant", score: float = 0.5,
) -> IngestBatch:  # fmt: skip
    return IngestBatch(
        site_id=site_id, visitor=visitor, session="session-0001", batch_id=batch_id,
        received_at=time.time(),
        signals=StoredSignals.of(
            [StoredSignal("clicks", f'{{"kind":"clicks","count":{n}}}') for n in range(count)]
        ),
        observations=Observations(patterns={pattern: score}),
    )  # fmt: skip


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    async with SQLiteStorage(tmp_path / "r.db") as opened:
        yield opened


async def site_id(storage: SQLiteStorage) -> int:
    return (await storage.create_site("S", [ORIGIN], now=time.time())).site.id


async def stored_batches(storage: SQLiteStorage) -> list[str]:
    rows = await storage.sql_fetch("SELECT batch_id FROM batches ORDER BY batch_id")
    return [str(r[0]) for r in rows]


async def stored_signals(storage: SQLiteStorage) -> int:
    return int((await storage.sql_fetch("SELECT COUNT(*) FROM signals"))[0][0])


def count_trips(storage: SQLiteStorage) -> list[str]:
    """Record the name of each step the writer's process runs."""
    trips: list[str] = []
    writer = storage._group_writer
    assert writer is not None
    real = writer.run

    async def run(step: Callable[..., Any], *args: Any) -> Any:
        trips.append(step.__name__)
        return await real(step, *args)

    writer.run = run  # type: ignore[method-assign]
    return trips


async def test_a_group_of_many_new_batches_takes_one_trip_to_the_writers_process(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    trips = count_trips(storage)
    await asyncio.gather(
        *(storage.ingest(batch(sid, f"b-{n:02}", visitor=f"v{n}")) for n in range(40))
    )
    assert trips == ["write_group"]
    assert len(await stored_batches(storage)) == 40
    assert await stored_signals(storage) == 120


async def test_a_group_holding_a_batch_stored_before_takes_a_second_trip_and_stores_it_once(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    await storage.ingest(batch(sid, "b-1"))
    trips = count_trips(storage)
    again, new = await asyncio.gather(
        storage.ingest(batch(sid, "b-1")), storage.ingest(batch(sid, "b-2"))
    )
    assert trips == ["write_group", "close_group"]
    assert (again.duplicate, new.duplicate) == (True, False)
    assert await stored_batches(storage) == ["b-1", "b-2"]
    assert await stored_signals(storage) == 6


async def test_a_visitor_stored_but_no_longer_cached_takes_a_second_trip_and_keeps_its_profile(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    await storage.ingest(batch(sid, "b-1", pattern="hesitant", score=0.5))
    storage._profiles.clear()  # a restart, or the cache's least recently used visitor
    trips = count_trips(storage)
    result = await storage.ingest(batch(sid, "b-2", pattern="urgent", score=0.7))
    assert trips == ["write_group", "close_group"]
    assert {name: p.score for name, p in result.profile.patterns.items()} == {
        "hesitant": 0.5,
        "urgent": 0.7,
    }
    assert (await storage.profile(sid, "v")).patterns.keys() == {"hesitant", "urgent"}


async def test_a_failure_computing_a_groups_writes_stores_nothing_and_the_retry_stores_it_once(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    real = storage._new_rollups

    def broken() -> None:
        raise RuntimeError("rollups broke")

    storage._new_rollups = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError, match="rollups broke"):
        await storage.ingest(batch(sid, "b-1"))
    assert await stored_batches(storage) == []
    storage._new_rollups = real  # type: ignore[method-assign]
    result = await storage.ingest(batch(sid, "b-1"))
    assert not result.duplicate
    assert await stored_batches(storage) == ["b-1"]
    assert await stored_signals(storage) == 3
    assert (await storage.profile(sid, "v")).patterns["hesitant"].score == 0.5


async def test_a_failure_between_the_two_trips_stores_nothing_and_the_retry_stores_it_once(
    storage: SQLiteStorage,
) -> None:
    """The second trip's writes are computed after the first trip opened the transaction; a
    failure there rolls it back."""
    sid = await site_id(storage)
    await storage.ingest(batch(sid, "b-1", pattern="hesitant", score=0.5))
    storage._profiles.clear()
    real = storage._new_rollups
    calls = 0

    def broken_the_second_time() -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("rollups broke")
        return real()

    storage._new_rollups = broken_the_second_time  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="rollups broke"):
        await storage.ingest(batch(sid, "b-2", pattern="urgent", score=0.7))
    assert await stored_batches(storage) == ["b-1"]
    storage._new_rollups = real  # type: ignore[method-assign]
    assert not (await storage.ingest(batch(sid, "b-2", pattern="urgent", score=0.7))).duplicate
    assert await stored_batches(storage) == ["b-1", "b-2"]
    assert await stored_signals(storage) == 6


async def test_a_group_left_open_between_its_trips_is_rolled_back_by_the_next(
    storage: SQLiteStorage,
) -> None:
    """A group cancelled after a first trip that left its transaction open (the server
    stopping, say) leaves it open on the writer's connection; the next group rolls it back
    first."""
    sid = await site_id(storage)
    writer = storage._group_writer
    assert isinstance(writer, WriterProcess)
    await writer.run(open_group, [(sid, "abandoned", "v", "session-0001", 3, time.time())], [])
    await storage.ingest(batch(sid, "b-2"))
    assert await stored_batches(storage) == ["b-2"]
    assert await stored_signals(storage) == 3


async def test_signals_are_stored_exactly_as_received_whatever_their_text_holds(
    storage: SQLiteStorage,
) -> None:
    """The signals travel to SQLite inside one JSON document per group; their bodies, kinds
    and receive times come out of it unchanged, escapes and all."""
    sid = await site_id(storage)
    bodies = [
        '{"kind":"context","referrer":"a \\"quoted\\" \\\\ path","lang":"fr-\\u00e9"}',
        '{"kind":"tone","name":"calm","score":0.30000000000000004}',
        '{"kind":"clicks","count":1}',
    ]
    kinds = ["context", "tone", "clicks"]
    sent = IngestBatch(
        site_id=sid, visitor="v", session="session-0001", batch_id="b-1",
        received_at=1_796_455_416.5115573,
        signals=StoredSignals.of(
            [StoredSignal(k, b) for k, b in zip(kinds, bodies, strict=True)]
        ),
        observations=Observations(),
    )  # fmt: skip
    await storage.ingest(sent)
    rows = await storage.sql_fetch(
        "SELECT kind, body, received_at, batch_id, visitor, session FROM signals ORDER BY rowid"
    )
    assert [tuple(r) for r in rows] == [
        (k, b, 1_796_455_416.5115573, "b-1", "v", "session-0001")
        for k, b in zip(kinds, bodies, strict=True)
    ]
