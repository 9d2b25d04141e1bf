"""A group-commit writer: one task per database that turns many requests into one commit.

Measured on this hardware: one transaction per request ingests ≈ 57k events/s; grouping
whatever is queued whenever the writer is idle gives ≈ 100–115k events/s at p99 ≈ 30 ms,
without a timer (an idle server commits a lone batch immediately). Each request awaits a
future resolved only after the group's commit, so a 200 always means "durably stored".

The queue is bounded: when the database cannot keep up, requests wait up to
``enqueue_timeout`` for room and then fail with :class:`StorageBusy` (HTTP 503), which is
safe because clients retry batches with the same id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from rapport.server.storage.base import StorageBusy, StorageClosed
from rapport.server.storage.outage import OutageLog, is_outage

__all__ = ["GroupCommitWriter"]

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")
_Entry = tuple[ItemT, asyncio.Future[ResultT]]


class _Barrier:
    """A queue marker for :meth:`GroupCommitWriter.settled`: resolved once every item queued
    before it is committed (or failed)."""

    __slots__ = ("reached",)

    def __init__(self, reached: asyncio.Future[None]) -> None:
        self.reached = reached


class GroupCommitWriter(Generic[ItemT, ResultT]):
    """Serialises writes to one database and commits them in groups.

    ``flush`` receives the items of one group in arrival order and must return one result
    per item, in the same order, after committing them in one transaction. If it raises,
    every request of the group gets that exception: nothing of the group was acknowledged,
    and it was committed whole or not at all (all of it only when the connection was lost
    after the commit, before its answer: the clients' retries are then duplicates).
    """

    def __init__(
        self,
        flush: Callable[[Sequence[ItemT]], Awaitable[Sequence[ResultT]]],
        *,
        max_queue: int = 1024,
        max_group: int = 256,
        enqueue_timeout: float = 5.0,
        name: str = "rapport-writer",
        outage: OutageLog | None = None,
    ) -> None:
        if max_queue < 1 or max_group < 1:
            raise ValueError("max_queue and max_group must be positive")
        self._flush = flush
        # ``None`` is the stop marker put by :meth:`close`; a ``_Barrier`` one put by
        # :meth:`settled`.
        self._queue: asyncio.Queue[_Entry[ItemT, ResultT] | _Barrier | None] = asyncio.Queue(
            maxsize=max_queue
        )
        self._max_group = max_group
        self._enqueue_timeout = enqueue_timeout
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._outage = outage
        self.on_flush: Callable[[int, float], None] | None = None
        """Called after each committed group with its size and duration (metrics)."""

    @property
    def depth(self) -> int:
        """Items waiting in the queue (not counting the group being committed)."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """True while the writer task is alive (health checks use it)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the writer task on the running event loop."""
        if self._task is not None:
            raise RuntimeError("writer already started")
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def submit(self, item: ItemT) -> ResultT:
        """Queue ``item`` and wait until it is committed; return its result."""
        if self._closing or not self.running:
            raise StorageClosed("the writer is not running (shutting down?)")
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        entry = (item, future)
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(self._queue.put(entry), self._enqueue_timeout)
            except TimeoutError:
                raise StorageBusy("the write queue is full; retry later") from None
        # If our caller is cancelled (client went away) the item is still written:
        # batches are idempotent, and the writer skips futures that are already done.
        return await future

    async def settled(self) -> None:
        """Wait until every item submitted before this call is committed (or has failed).

        An erasure needs this: a batch of the visitor that is still waiting in the queue when
        the erase runs its last transaction would otherwise be committed after it, and store
        the erased visitor again. The queue is FIFO and groups commit in order, so a marker
        queued behind those items is reached exactly when they are done; items submitted
        later are not waited for.
        """
        if self._task is None or self._task.done():
            return  # nothing will be committed any more
        if self._closing:
            await asyncio.shield(self._task)  # close() commits everything queued, then stops
            return
        barrier = _Barrier(asyncio.get_running_loop().create_future())
        try:
            await asyncio.wait_for(self._queue.put(barrier), self._enqueue_timeout)
        except TimeoutError:
            raise StorageBusy("the write queue is full; retry later") from None
        await barrier.reached

    async def close(self) -> None:
        """Stop accepting items, commit everything already queued, then stop the task."""
        if self._task is None:
            return
        self._closing = True
        await self._queue.put(None)
        await self._task
        # Anything that squeezed in after the stop marker (a submit that was waiting for
        # room) will never be written: tell its caller instead of leaving it hanging.
        while not self._queue.empty():
            entry = self._queue.get_nowait()
            if isinstance(entry, _Barrier):
                entry.reached.set_result(None)  # nothing queued before it is left
            elif entry is not None and not entry[1].done():
                entry[1].set_exception(StorageClosed("the server is shutting down"))

    async def _run(self) -> None:
        stop = False
        while not stop:
            entry = await self._queue.get()
            group: list[_Entry[ItemT, ResultT]] = []
            barrier: _Barrier | None = None
            while True:
                if entry is None:
                    stop = True
                    break
                if isinstance(entry, _Barrier):
                    barrier = entry  # the group ends here; items behind it wait for the next
                    break
                group.append(entry)
                if len(group) >= self._max_group:
                    break
                try:
                    entry = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if group:
                await self._commit(group)
            if barrier is not None and not barrier.reached.done():
                barrier.reached.set_result(None)

    async def _commit(self, group: list[_Entry[ItemT, ResultT]]) -> None:
        items = [item for item, _ in group]
        futures = [future for _, future in group]
        started = time.perf_counter()
        try:
            results = await self._flush(items)
            if len(results) != len(items):
                raise RuntimeError("flush returned the wrong number of results")
        except Exception as exc:
            if self._outage is not None and is_outage(exc):
                self._outage.failed(exc)  # one line per outage, not a traceback per group
            else:
                log.exception("group commit of %d item(s) failed", len(items))
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            return
        if self._outage is not None:
            self._outage.recovered()
        if self.on_flush is not None:
            try:
                self.on_flush(len(items), time.perf_counter() - started)
            except Exception:  # pragma: no cover - metrics must never break writes
                log.exception("flush observer failed")
        for future, result in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(result)
