"""Delivering webhook events: a delivery log table, HMAC-SHA256 over the exact body,
exponential backoff, run by a background task (``WebhookDispatcher.run``).

Each request: ``POST url`` with the JSON body, ``Content-Type: application/json``,
``X-Rapport-Event: <event>``, ``X-Rapport-Delivery: <id>`` and
``X-Rapport-Signature: sha256=<hex HMAC-SHA256 of the body bytes with the webhook secret>``.
A 2xx answer is delivered; anything else (or no answer within ``timeout``) is retried after
``base_delay × 2^(attempts-1)`` seconds, up to ``max_attempts``; then ``failed``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence

import httpx
import msgspec

from server.hints.engine import HotLead, events_for
from server.storage.base import HintLogRow, Storage

__all__ = ["SIGNATURE_HEADER", "WebhookDispatcher", "enqueue_events", "enqueue_hot_leads",
           "new_secret", "sign"]  # fmt: skip

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Rapport-Signature"


def new_secret() -> str:
    """A per-webhook signing secret (shown once by ``rapport site webhook add``)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def enqueue_events(
    storage: Storage,
    rows: Sequence[HintLogRow],
    *,
    now: float,
    site_keys: dict[int, str] | None = None,
) -> int:
    """Queue one delivery per (new treated hint → event, subscribed webhook)."""
    queued = 0
    hooks_by_site: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
    for row in rows:
        if row.arm != "treated":
            continue  # the control group gets no treatment, CRM follow-ups included
        events = events_for(row)
        if not events:
            continue
        if row.site_id not in hooks_by_site:
            hooks_by_site[row.site_id] = [
                (h.id, h.events) for h in await storage.webhooks(row.site_id)
            ]
        for event in events:
            for hook_id, subscribed in hooks_by_site[row.site_id]:
                if event not in subscribed:
                    continue
                body = msgspec.json.encode(
                    {
                        "event": event,
                        "site": (site_keys or {}).get(row.site_id),
                        "visitor": row.visitor,
                        "hint": {"id": row.hint_id, "kind": row.kind, "pattern": row.pattern,
                                 "strength": row.strength},
                        "at": row.first_at,
                    }
                ).decode()  # fmt: skip
                await storage.enqueue_delivery(
                    hook_id, row.site_id, event, body, now=now, visitor=row.visitor
                )
                queued += 1
    return queued


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def enqueue_hot_leads(
    storage: Storage,
    leads: Sequence[HotLead],
    *,
    now: float,
    site_keys: dict[int, str] | None = None,
) -> int:
    """Queue one ``hot_lead`` delivery per (lead, webhook subscribed to it).

    Once per visitor and session: the engine reports a session's lead once per process, and a
    delivery already logged for that visitor and session (another server process, a restart)
    is not queued again. Control visitors never get here (the engine checks the holdout).
    """
    queued = 0
    hooks_by_site: dict[int, list[int]] = {}
    for lead in leads:
        if lead.site_id not in hooks_by_site:
            hooks_by_site[lead.site_id] = [
                h.id for h in await storage.webhooks(lead.site_id) if "hot_lead" in h.events
            ]
        hooks = hooks_by_site[lead.site_id]
        if not hooks:
            continue
        who = msgspec.json.encode({"visitor": lead.visitor, "session": lead.session}).decode()
        seen = await storage.sql_fetch(
            "SELECT 1 FROM webhook_deliveries WHERE site_id = ? AND event = 'hot_lead' "
            "AND body LIKE ? ESCAPE '\\' LIMIT 1",
            (lead.site_id, "%" + _like(who[1:-1]) + "%"),
        )
        if seen:
            continue
        body = msgspec.json.encode(
            {
                "event": "hot_lead",
                "site": (site_keys or {}).get(lead.site_id),
                "visitor": lead.visitor,
                "session": lead.session,
                "lead_score": lead.lead_score,
                "threshold": lead.threshold,
                "source": lead.source,
                "contributions": lead.contributions,
                "at": lead.at,
            }
        ).decode()
        for hook_id in hooks:
            await storage.enqueue_delivery(
                hook_id, lead.site_id, "hot_lead", body, now=now, visitor=lead.visitor
            )
            queued += 1
    return queued


class WebhookDispatcher:
    """Sends due deliveries; one instance per app (a background task calls :meth:`run`)."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], float] = time.time,
        base_delay: float = 5.0,
        max_attempts: int = 8,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.base_delay = base_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._transport = transport

    async def run_once(self) -> int:
        """Attempt every due delivery once; returns how many were attempted."""
        due = await self.storage.due_deliveries(self.clock())
        if not due:
            return 0
        hooks: dict[int, tuple[str, str]] = {}
        for site_id in {d.site_id for d in due}:
            for hook in await self.storage.webhooks(site_id):
                hooks[hook.id] = (hook.url, hook.secret)
        async with httpx.AsyncClient(timeout=self.timeout, transport=self._transport) as client:
            for delivery in due:
                target = hooks.get(delivery.webhook_id)
                attempts = delivery.attempts + 1
                if target is None:
                    await self.storage.record_attempt(
                        delivery.id, status="failed", attempts=attempts, next_attempt_at=0,
                        last_status=0, last_error="webhook removed", delivered_at=0,
                    )  # fmt: skip
                    continue
                url, secret = target
                body = delivery.body.encode()
                code, error = 0, ""
                try:
                    reply = await client.post(
                        url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Rapport-Event": delivery.event,
                            "X-Rapport-Delivery": str(delivery.id),
                            SIGNATURE_HEADER: sign(secret, body),
                        },
                    )
                    code = reply.status_code
                    if not 200 <= code < 300:
                        error = f"HTTP {code}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                now = self.clock()
                if not error:
                    status, next_at, delivered = "delivered", 0.0, now
                elif attempts >= self.max_attempts:
                    status, next_at, delivered = "failed", 0.0, 0.0
                else:
                    status, delivered = "pending", 0.0
                    next_at = now + self.base_delay * 2 ** (attempts - 1)
                await self.storage.record_attempt(
                    delivery.id, status=status, attempts=attempts, next_attempt_at=next_at,
                    last_status=code, last_error=error, delivered_at=delivered,
                )  # fmt: skip
        return len(due)

    async def run(self, interval: float = 1.0) -> None:
        """Poll for due deliveries every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("webhook delivery run failed")
            await asyncio.sleep(interval)
