"""CRM webhooks and their delivery log: the SQL (run through any
:class:`~server.storage.base.Storage` backend)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from rapport.server.storage.base import Delivery, Storage, Webhook

__all__ = [
    "add_webhook",
    "deliveries",
    "delivery",
    "due_deliveries",
    "enqueue_delivery",
    "hot_lead_delivered",
    "record_attempt",
    "remove_webhook",
    "webhooks",
]

_DELIVERY_COLUMNS = (
    "id, webhook_id, site_id, event, body, status, attempts, next_attempt_at, last_status, "
    "last_error, created_at, delivered_at"
)


def _delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(
        id=int(row[0]),
        webhook_id=int(row[1]),
        site_id=int(row[2]),
        event=str(row[3]),
        body=str(row[4]),
        status=str(row[5]),
        attempts=int(row[6]),
        next_attempt_at=float(row[7]),
        last_status=int(row[8]),
        last_error=str(row[9]),
        created_at=float(row[10]),
        delivered_at=float(row[11]),
    )


async def add_webhook(
    storage: Storage, site_id: int, url: str, events: Sequence[str], secret: str, *, now: float
) -> int:
    """Register a webhook; returns its id."""
    rows = await storage.sql_fetch(
        "INSERT INTO webhooks (site_id, url, events, secret, created_at) "
        "VALUES (?, ?, ?, ?, ?) RETURNING id",
        (site_id, url, ",".join(events), secret, float(now)),
    )
    return int(rows[0][0])


async def webhooks(storage: Storage, site_id: int) -> list[Webhook]:
    """A site's webhooks, oldest first."""
    rows = await storage.sql_fetch(
        "SELECT id, site_id, url, events, secret, created_at FROM webhooks "
        "WHERE site_id = ? ORDER BY id",
        (site_id,),
    )
    return [
        Webhook(int(r[0]), int(r[1]), str(r[2]), tuple(str(r[3]).split(",")), str(r[4]),
                float(r[5]))
        for r in rows
    ]  # fmt: skip


async def remove_webhook(storage: Storage, site_id: int, webhook_id: int) -> bool:
    """Delete a webhook (and its pending deliveries); False when there was none."""
    await storage.sql_execute(
        "DELETE FROM webhook_deliveries WHERE site_id = ? AND webhook_id = ? "
        "AND status = 'pending'",
        (site_id, webhook_id),
    )
    count = await storage.sql_execute(
        "DELETE FROM webhooks WHERE site_id = ? AND id = ?", (site_id, webhook_id)
    )
    return count > 0


async def enqueue_delivery(
    storage: Storage,
    webhook_id: int,
    site_id: int,
    event: str,
    body: str,
    *,
    now: float,
    visitor: str | None = None,
) -> int:
    """Queue one event for one webhook, due now; ``visitor`` is whom it is about (the
    delivery is erased with that visitor)."""
    rows = await storage.sql_fetch(
        "INSERT INTO webhook_deliveries (webhook_id, site_id, event, body, status, attempts, "
        "next_attempt_at, last_status, last_error, created_at, delivered_at, visitor) "
        "VALUES (?, ?, ?, ?, 'pending', 0, ?, 0, '', ?, 0, ?) RETURNING id",
        (webhook_id, site_id, event, body, float(now), float(now), visitor),
    )
    return int(rows[0][0])


async def due_deliveries(storage: Storage, now: float, limit: int = 50) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    rows = await storage.sql_fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries "
        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
        f"LIMIT {int(limit)}",
        (float(now),),
    )
    return [_delivery(r) for r in rows]


async def delivery(storage: Storage, delivery_id: int) -> Delivery | None:
    """One delivery by id (``None`` once erased or removed with its webhook)."""
    rows = await storage.sql_fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?", (delivery_id,)
    )
    return _delivery(rows[0]) if rows else None


async def record_attempt(
    storage: Storage,
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    next_attempt_at: float,
    last_status: int,
    last_error: str,
    delivered_at: float,
) -> None:
    """Store the outcome of one delivery attempt."""
    await storage.sql_execute(
        "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
        "last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
        (status, attempts, float(next_attempt_at), last_status, last_error[:500],
         float(delivered_at), delivery_id),
    )  # fmt: skip


async def deliveries(storage: Storage, site_id: int, limit: int = 100) -> list[Delivery]:
    """The delivery log of a site, newest first."""
    rows = await storage.sql_fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE site_id = ? "
        f"ORDER BY id DESC LIMIT {int(limit)}",
        (site_id,),
    )
    return [_delivery(r) for r in rows]


class _HotLeadBody(msgspec.Struct):
    session: str = ""


_HOT_LEAD_BODY = msgspec.json.Decoder(_HotLeadBody)


async def hot_lead_delivered(storage: Storage, site_id: int, visitor: str, session: str) -> bool:
    """Whether a ``hot_lead`` delivery for this visitor and session is already logged (by any
    server process, before a restart too). Reads the visitor's deliveries by the indexed
    ``visitor`` column and compares the session decoded from each body, rather than matching a
    ``LIKE`` pattern against the JSON text."""
    rows = await storage.sql_fetch(
        "SELECT body FROM webhook_deliveries WHERE site_id = ? AND visitor = ? "
        "AND event = 'hot_lead'",
        (site_id, visitor),
    )
    return any(_HOT_LEAD_BODY.decode(str(body)).session == session for (body,) in rows)
