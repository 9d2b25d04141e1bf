"""The group-commit writer on its own, with an in-memory flush."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from rapport.server.storage import StorageBusy, StorageClosed
from rapport.server.storage.writer import GroupCommitWriter

pytestmark = pytest.mark.anyio


class RecordingFlush:
    """Records each group; can be held closed to let a queue build up."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.fail_next = False

    async def __call__(self, items: Sequence[int]) -> list[int]:
        self.entered.set()
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("disk on fire")
        self.groups.append(list(items))
        return [item * 10 for item in items]


async def held_in_first_commit(
    flush: RecordingFlush, **options: Any
) -> tuple[GroupCommitWriter[int, int], asyncio.Future[int]]:
    """A started writer inside ``flush([0])``, held there by the flush's gate; and item 0."""
    writer = GroupCommitWriter(flush, **options)
    writer.start()
    flush.gate.clear()
    first = asyncio.ensure_future(writer.submit(0))
    await flush.entered.wait()
    return writer, first


async def test_each_caller_gets_its_own_result() -> None:
    flush = RecordingFlush()
    writer = GroupCommitWriter(flush)
    writer.start()
    assert await asyncio.gather(*(writer.submit(i) for i in range(3))) == [0, 10, 20]
    await writer.close()


async def test_items_queued_while_busy_are_committed_as_one_group() -> None:
    flush = RecordingFlush()
    writer, first = await held_in_first_commit(flush)
    rest = [asyncio.ensure_future(writer.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    flush.gate.set()
    await asyncio.gather(first, *rest)
    assert flush.groups == [[0], [1, 2, 3, 4, 5]]
    await writer.close()


async def test_groups_never_exceed_max_group() -> None:
    flush = RecordingFlush()
    writer = GroupCommitWriter(flush, max_group=2)
    writer.start()
    flush.gate.clear()
    tasks = [asyncio.ensure_future(writer.submit(i)) for i in range(5)]
    await flush.entered.wait()
    flush.gate.set()
    await asyncio.gather(*tasks)
    assert max(len(group) for group in flush.groups) <= 2
    assert sorted(i for group in flush.groups for i in group) == [0, 1, 2, 3, 4]
    await writer.close()


async def test_a_failed_flush_fails_its_group_and_the_writer_goes_on() -> None:
    flush = RecordingFlush()
    writer = GroupCommitWriter(flush)
    writer.start()
    flush.fail_next = True
    with pytest.raises(RuntimeError, match="disk on fire"):
        await writer.submit(1)
    assert await writer.submit(2) == 20
    assert writer.running
    await writer.close()


async def test_a_full_queue_refuses_with_storage_busy() -> None:
    flush = RecordingFlush()
    writer, in_flush = await held_in_first_commit(flush, max_queue=1, enqueue_timeout=0.05)
    queued = asyncio.ensure_future(writer.submit(1))
    await asyncio.sleep(0)
    with pytest.raises(StorageBusy):
        await writer.submit(2)
    flush.gate.set()
    assert await asyncio.gather(in_flush, queued) == [0, 10]
    await writer.close()


async def test_close_drains_the_queue_before_stopping() -> None:
    flush = RecordingFlush()
    writer = GroupCommitWriter(flush)
    writer.start()
    flush.gate.clear()
    tasks = [asyncio.ensure_future(writer.submit(i)) for i in range(4)]
    await flush.entered.wait()
    closing = asyncio.ensure_future(writer.close())
    await asyncio.sleep(0)
    flush.gate.set()
    await closing
    assert [task.result() for task in tasks] == [0, 10, 20, 30]
    assert not writer.running


async def test_submit_after_close_is_refused() -> None:
    writer = GroupCommitWriter(RecordingFlush())
    writer.start()
    await writer.close()
    with pytest.raises(StorageClosed):
        await writer.submit(1)


async def test_a_cancelled_caller_does_not_break_its_group() -> None:
    flush = RecordingFlush()
    writer, first = await held_in_first_commit(flush)
    abandoned = asyncio.ensure_future(writer.submit(1))
    kept = asyncio.ensure_future(writer.submit(2))
    await asyncio.sleep(0)
    abandoned.cancel()
    flush.gate.set()
    assert await asyncio.gather(first, kept) == [0, 20]
    assert flush.groups[-1] == [1, 2]  # still written: batches are idempotent
    await writer.close()


async def test_settled_waits_for_the_items_queued_before_it_and_not_for_later_ones() -> None:
    flush = RecordingFlush()
    writer, first = await held_in_first_commit(flush)
    queued = asyncio.ensure_future(writer.submit(1))
    await asyncio.sleep(0)
    settled = asyncio.ensure_future(writer.settled())
    await asyncio.sleep(0)
    later = asyncio.ensure_future(writer.submit(2))
    await asyncio.sleep(0.05)
    assert not settled.done()  # the writer is held before its first commit
    flush.gate.set()
    await settled
    assert first.result() == 0 and queued.result() == 10
    assert await later == 20
    assert flush.groups == [[0], [1], [2]]  # the barrier ended the second group before item 2
    await writer.close()


async def test_settled_returns_at_once_when_nothing_is_queued_or_the_writer_is_closed() -> None:
    writer = GroupCommitWriter(RecordingFlush())
    writer.start()
    await writer.settled()
    await writer.close()
    await writer.settled()


async def test_settled_while_closing_waits_until_the_queue_is_drained() -> None:
    flush = RecordingFlush()
    writer, first = await held_in_first_commit(flush)
    closing = asyncio.ensure_future(writer.close())
    await asyncio.sleep(0)
    settled = asyncio.ensure_future(writer.settled())  # close() is draining: wait for it
    await asyncio.sleep(0)
    assert not settled.done()
    flush.gate.set()
    await asyncio.gather(closing, settled)
    assert first.result() == 0
