"""Signal ids for one PostgreSQL writer, reserved from the shared sequence in blocks.

Each ``nextval('signals_id_seq')`` returns the first of ``increment_by`` ids (4,096 since
migration 0008) that no other call, in any process, will return: the writer hands them out
itself. Taking one id per signal from the sequence cost a round trip in every group commit
and a sequence call per signal in the server; in blocks, a group asks only when its block
runs out (``bench/README.md``, "Durable PostgreSQL": 28 µs less PostgreSQL CPU and 37 µs less
server CPU per 20-signal batch).

A batch never straddles two blocks when it fits in one (every batch from ``/v1/collect``
does: at most 200 signals), so its ids are consecutive and its span in ``batches`` holds its
own signals only. Ids of a block that a failed group used, or that a process held when it
stopped, are never used: the gaps cost nothing (the ids are 64-bit). Across processes, ids no
longer follow arrival order (each fills its own block); nothing relies on that: a visitor's
export pages by id for a stable order, and every row carries its ``received_at``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SignalIds"]


class SignalIds:
    """The rest of this writer's current block, and how to cut a group's ids from blocks."""

    def __init__(self, block: int) -> None:
        if block < 1:
            raise ValueError("a block holds at least one id")
        self.block = block
        self._next = 0
        self._end = 0  # nothing left: the first group takes a block

    def blocks_needed(self, sizes: Sequence[int]) -> int:
        """How many new blocks :meth:`take` will need for batches of ``sizes`` signals."""
        return self._cut(sizes, None)[1]

    def take(self, sizes: Sequence[int], blocks: Sequence[int]) -> list[list[int]]:
        """The ids of each batch, using the rest of the current block and then ``blocks``
        (the first ids of :meth:`blocks_needed` fresh blocks, in the order taken)."""
        ids, used, rest = self._cut(sizes, blocks)
        if used != len(blocks):  # too many; too few raised in the cut (neither keeps any id)
            raise ValueError(f"expected {used} new block(s), got {len(blocks)}")
        self._next, self._end = rest
        return ids

    def _cut(
        self, sizes: Sequence[int], blocks: Sequence[int] | None
    ) -> tuple[list[list[int]], int, tuple[int, int]]:
        """One pass for both methods (``blocks`` ``None``: only count): each batch's ids, how
        many new blocks they took, and the block's rest after them. Changes nothing."""
        nxt, end, used = self._next, self._end, 0
        out: list[list[int]] = []
        for size in sizes:
            ids: list[int] = []
            if 0 < size <= self.block and end - nxt < size:
                nxt = end  # start the batch in a fresh block rather than straddle two
            got = 0
            while got < size:
                if nxt == end:
                    if blocks is not None and used == len(blocks):
                        needed = self.blocks_needed(sizes)
                        raise ValueError(f"expected {needed} new block(s), got {len(blocks)}")
                    start = 0 if blocks is None else blocks[used]
                    nxt, end, used = start, start + self.block, used + 1
                step = min(size - got, end - nxt)
                if blocks is not None:
                    ids.extend(range(nxt, nxt + step))
                nxt, got = nxt + step, got + step
            out.append(ids)
        return out, used, (nxt, end)
