"""The visitor export as one JSON document written in chunks: bounded memory, off the loop.

A visitor may have stored hundreds of thousands of signals (a self-made visitor, by
design, is anyone who invents a secret). Loading them all and encoding one reply took
hundreds of MB and stalled the event loop for more than a second, so the export is
streamed instead: rows come from the storage's :class:`~server.storage.base.VisitorReader`
``chunk`` at a time (one snapshot, each table through its ``(site_id, visitor)`` index),
each chunk is encoded to JSON and the bytes go out as they are made. Memory is one chunk
whatever the visitor stored.

The export must not slow anyone else's requests either (``bench/rights_load.py``: another
site's ``/v1/hints`` p99 went 5× up while one address exported at its allowed rate). Measured
with py-spy, the cost was CPU held under the GIL: building rows from SQLite and encoding
2,000-row chunks in a worker thread. A thread does not take that work off the event loop in
CPython — it competes for the GIL, and the loop, wanting it back after every socket or
database wake-up, waits up to the 5 ms switch interval each time. So:

* chunks are small (:data:`CHUNK_ROWS`, well under a millisecond of fetching and encoding)
  and encoded on the loop itself: a request that arrives meanwhile waits for at most one;
* after each chunk the export sleeps so that the exports of a process keep it busy at most
  a set share of the time, all together (:class:`~server.visitors.limits.ExportPace`, 5 %
  by default): their share of the CPU is bounded whatever the machine's speed or load, and
  a 300,000-signal visitor still takes well under a minute on an idle machine.

The document (keys in this order; a client may also just parse it whole)::

    {"site": "pk_…", "visitor": "…", "page": 0,
     "profiles": [{"data": {…}, "updated_at": …}],
     "signals": [{"kind": …, "body": {…}, "batch_id": …, "session": …, "received_at": …}, …],
     "batches": […], "hint_log": […], "hint_feedback": […], "webhook_deliveries": […],
     "counts": {"profiles": 1, "signals": …, …},
     "truncated": ["signals"], "next_page": 1}

One table per entry of :data:`~server.storage.visitor_tables.VISITOR_TABLES`, each row an
object of that table's exported columns (JSON columns embedded as JSON). Each table gives
at most ``max_rows`` rows per page; ``truncated`` names the tables that have more, and
``next_page`` (else ``null``) is the ``page`` query parameter that continues them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final

import msgspec

from rapport.server.storage.base import Storage
from rapport.server.storage.visitor_tables import VISITOR_TABLES, VisitorTable

__all__ = ["CHUNK_ROWS", "ExportTooSlow", "encode_rows", "export_document"]

#: Rows read and encoded at a time: ~17 KB of JSON for signals, about half a millisecond.
CHUNK_ROWS: Final = 128
_encode = msgspec.json.Encoder().encode


class ExportTooSlow(Exception):
    """The client read the export too slowly; the stream is cut (it held a snapshot)."""


def encode_rows(table: VisitorTable, rows: Sequence[Sequence[Any]]) -> bytes:
    """``rows`` as comma-separated JSON objects (no brackets); JSON columns embedded."""
    raw = table.json_columns
    items = [
        {
            column: msgspec.Raw(value.encode()) if column in raw and value is not None else value
            for column, value in zip(table.columns, row, strict=True)
        }
        for row in rows
    ]
    return _encode(items)[1:-1]


async def export_document(
    storage: Storage,
    *,
    site_id: int,
    site_key: str,
    visitor: str,
    page: int,
    max_rows: int,
    deadline: float,
    pace: Callable[[float], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """The export, in pieces; raises :class:`ExportTooSlow` past ``deadline`` (monotonic).
    ``pace(seconds)`` is awaited after each chunk with the time it took to read and encode
    (it yields to the loop, and may wait)."""
    counts: dict[str, int] = {}
    truncated: list[str] = []
    head = {"site": site_key, "visitor": visitor, "page": page}
    yield _encode(head)[:-1]
    async with storage.visitor_reader(site_id, visitor) as reader:
        for table in VISITOR_TABLES:
            yield b',"' + table.name.encode() + b'":['
            count = 0
            rows = reader.rows(table, offset=page * max_rows, limit=max_rows + 1, chunk=CHUNK_ROWS)
            started = time.monotonic()
            async for chunk in rows:
                if time.monotonic() > deadline:
                    raise ExportTooSlow(f"visitor export not read within its deadline ({table})")
                if count + len(chunk) > max_rows:  # the extra row only says there is more
                    chunk = chunk[: max_rows - count]
                    if table.name not in truncated:
                        truncated.append(table.name)
                if chunk:
                    piece = (b"," if count else b"") + encode_rows(table, chunk)
                    count += len(chunk)
                    await pace(time.monotonic() - started)
                    yield piece
                started = time.monotonic()
            counts[table.name] = count
            yield b"]"
    tail = {"counts": counts, "truncated": truncated, "next_page": page + 1 if truncated else None}
    yield b"," + _encode(tail)[1:]
