"""Delivering webhook events: a delivery log table, signed requests, exponential backoff,
run by a background task (``WebhookDispatcher.run``).

Each request: ``POST url`` with the JSON body, ``Content-Type: application/json``,
``X-Rapport-Event: <event>``, ``X-Rapport-Delivery: <id>`` and
``X-Rapport-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (the
Stripe scheme: the timestamp is signed, so a receiver that checks it against its clock —
:func:`verify`, ``tolerance`` 300 s — refuses a captured delivery replayed later). A 2xx
answer is delivered; anything else (or no complete answer within ``timeout``, a deadline for
the whole exchange, not per read) is retried after ``base_delay × 2^(attempts-1)`` seconds,
up to ``max_attempts``; then ``failed``.

Sites are isolated: each site's due deliveries are sent by its own task, one at a time in
order, while the poller keeps starting other sites' tasks. A receiver that trickles one
byte every few seconds therefore holds only its own site's queue, for ``timeout`` per
delivery. Before each attempt the delivery is claimed in the database (a lease, so two
server processes never send it twice) and re-read with its webhook: a delivery whose
webhook was removed, or that was erased, is not sent. Targets are checked as described in
:mod:`server.webhooks.targets`; errors are logged with redacted URLs only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Final

import httpx
import msgspec

from rapport.server.storage.base import Delivery, HintLogRow, Storage
from rapport.server.storage.outage import is_outage
from rapport.server.webhooks import store as webhook_store
from rapport.server.webhooks.events import HotLead, events_for
from rapport.server.webhooks.targets import Resolver, UnsafeWebhookURL, redact, resolve_target

__all__ = ["SIGNATURE_HEADER", "SIGNATURE_TOLERANCE", "WebhookDispatcher", "enqueue_events",
           "enqueue_hot_leads", "new_secret", "sign", "verify"]  # fmt: skip

log = logging.getLogger(__name__)
# httpx logs every request's URL at INFO, credentials included: keep those loggers quiet.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
SIGNATURE_HEADER = "X-Rapport-Signature"
#: Seconds a receiver should accept between the signed timestamp and its own clock.
SIGNATURE_TOLERANCE: Final = 300


def new_secret() -> str:
    """A per-webhook signing secret (shown once by ``rapport site webhook add``)."""
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    signed = str(int(timestamp)).encode() + b"." + body
    return f"t={int(timestamp)},v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE,
) -> bool:
    """What a receiver does (docs/server.md has it in Python and JavaScript): the header's
    timestamp is within ``tolerance`` of ``now`` and one ``v1`` matches, in constant time."""
    parts = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in parts if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamps[0])) > tolerance:
        return False
    expected = sign(secret, body, int(stamps[0])).partition(",v1=")[2]
    return any(
        hmac.compare_digest(value.strip(), expected) for key, _, value in parts
        if key.strip() == "v1"
    )  # fmt: skip


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
                (h.id, h.events) for h in await webhook_store.webhooks(storage, row.site_id)
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
                await webhook_store.enqueue_delivery(
                    storage, hook_id, row.site_id, event, body, now=now, visitor=row.visitor
                )
                queued += 1
    return queued


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
                h.id
                for h in await webhook_store.webhooks(storage, lead.site_id)
                if "hot_lead" in h.events
            ]
        hooks = hooks_by_site[lead.site_id]
        if not hooks:
            continue
        if await webhook_store.hot_lead_delivered(
            storage, lead.site_id, lead.visitor, lead.session
        ):
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
            await webhook_store.enqueue_delivery(
                storage, hook_id, lead.site_id, "hot_lead", body, now=now, visitor=lead.visitor
            )
            queued += 1
    return queued


class WebhookDispatcher:
    """Sends due deliveries; one instance per app (a background task calls :meth:`run`).

    ``timeout`` is the deadline of one whole attempt (connect, send, complete answer).
    ``allow_private`` lets deliveries reach loopback, private and link-local addresses
    (``--allow-private-webhooks``); ``resolver`` replaces DNS in tests.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], float] = time.time,
        base_delay: float = 5.0,
        max_attempts: int = 8,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        max_sites: int = 64,
        per_site_batch: int = 20,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.base_delay = base_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.allow_private = allow_private
        self._transport = transport
        self._resolver = resolver
        self._max_sites = max_sites
        self._per_site_batch = per_site_batch
        self._sites: dict[int, asyncio.Task[int]] = {}
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # No redirects: a 3xx to an internal address would bypass the target checks.
            self._client = httpx.AsyncClient(
                timeout=self.timeout, transport=self._transport, follow_redirects=False,
                trust_env=False,
            )  # fmt: skip
        return self._client

    async def start_due(self) -> list[asyncio.Task[int]]:
        """Start one task per site with due deliveries and no task running; return them."""
        self._sites = {site: task for site, task in self._sites.items() if not task.done()}
        room = self._max_sites - len(self._sites)
        if room <= 0:
            return []
        busy = sorted(self._sites)
        exclude = f"AND site_id NOT IN ({', '.join(str(s) for s in busy)}) " if busy else ""
        rows = await self.storage.sql_fetch(
            "SELECT site_id, MIN(next_attempt_at) FROM webhook_deliveries "
            f"WHERE status = 'pending' AND next_attempt_at <= ? {exclude}"
            f"GROUP BY site_id ORDER BY 2 LIMIT {int(room)}",
            (float(self.clock()),),
        )
        started = []
        for site_id, _ in rows:
            task = asyncio.create_task(self._drain_site(int(site_id)), name=f"webhooks:{site_id}")
            self._sites[int(site_id)] = task
            started.append(task)
        return started

    async def run_once(self) -> int:
        """Start every site's due deliveries and wait for them; returns how many were
        attempted (tests and ``run``'s first round use it)."""
        tasks = await self.start_due()
        return sum(await asyncio.gather(*tasks)) if tasks else 0

    async def _drain_site(self, site_id: int) -> int:
        """Attempt this site's due deliveries in order (``per_site_batch`` at most)."""
        rows = await self.storage.sql_fetch(
            "SELECT id FROM webhook_deliveries WHERE site_id = ? AND status = 'pending' "
            f"AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT {self._per_site_batch}",
            (site_id, float(self.clock())),
        )
        attempted = 0
        for (delivery_id,) in rows:
            try:
                attempted += await self._attempt(int(delivery_id))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad delivery must not stop the site's others
                if is_outage(exc):
                    self.storage.outage.failed(exc)
                    break  # the database is gone: a later round retries
                log.warning("webhook delivery %s failed: %s", delivery_id, type(exc).__name__)
        return attempted

    async def _claim(self, delivery_id: int) -> tuple[Delivery, str, str] | None:
        """Lease the delivery for this attempt and read it with its webhook's URL and
        secret; ``None`` when it is no longer pending, not due, erased or its webhook gone."""
        now = self.clock()
        lease = now + self.timeout + 30
        claimed = await self.storage.sql_execute(
            "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ? "
            "AND status = 'pending' AND next_attempt_at <= ?",
            (float(lease), delivery_id, float(now)),
        )
        if not claimed:
            return None
        delivery = await webhook_store.delivery(self.storage, delivery_id)
        if delivery is None or delivery.status != "pending":
            return None
        for hook in await webhook_store.webhooks(self.storage, delivery.site_id):
            if hook.id == delivery.webhook_id:
                return delivery, hook.url, hook.secret
        await self._record(delivery, "failed", 0, "webhook removed", attempts=delivery.attempts)
        return None

    async def _attempt(self, delivery_id: int) -> int:
        claimed = await self._claim(delivery_id)
        if claimed is None:
            return 0
        delivery, url, secret = claimed
        attempts = delivery.attempts + 1
        try:
            target = await resolve_target(
                url, allow_private=self.allow_private, resolver=self._resolver
            )
        except UnsafeWebhookURL as exc:  # never retried: the URL must be changed
            log.warning("webhook %d not delivered: %s", delivery.webhook_id, exc)
            await self._record(delivery, "failed", 0, f"refused: {exc}", attempts=attempts)
            return 1
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Rapport-Event": delivery.event,
            "X-Rapport-Delivery": str(delivery.id),
            SIGNATURE_HEADER: sign(secret, body, int(self.clock())),
        }
        extensions: dict[str, str] = {}
        if target.address != target.host:
            port = f":{target.url.port}" if target.url.port else ""
            headers["Host"] = target.host + port
            if target.url.scheme == "https":
                extensions["sni_hostname"] = target.host
        code, error = 0, ""
        try:
            async with asyncio.timeout(self.timeout):
                reply = await self._http().post(
                    target.url, content=body, headers=headers, extensions=extensions
                )
            code = reply.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except TimeoutError:
            error = f"no complete answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = type(exc).__name__  # its text may hold the URL (and credentials)
        if error:
            log.info("webhook %d to %s: %s", delivery.webhook_id, redact(url), error)
        now = self.clock()
        if not error:
            await self._record(delivery, "delivered", code, "", attempts=attempts, delivered=now)
        elif attempts >= self.max_attempts:
            await self._record(delivery, "failed", code, error, attempts=attempts)
        else:
            next_at = now + self.base_delay * 2 ** (attempts - 1)
            await self._record(delivery, "pending", code, error, attempts=attempts,
                               next_at=next_at)  # fmt: skip
        return 1

    async def _record(
        self, delivery: Delivery, status: str, code: int, error: str, *, attempts: int,
        next_at: float = 0.0, delivered: float = 0.0,
    ) -> None:  # fmt: skip
        await webhook_store.record_attempt(self.storage,
            delivery.id, status=status, attempts=attempts, next_attempt_at=next_at,
            last_status=code, last_error=error, delivered_at=delivered,
        )  # fmt: skip

    async def close(self) -> None:
        """Cancel the sites' tasks (their leased deliveries are retried after the lease)."""
        for task in self._sites.values():
            task.cancel()
        for task in self._sites.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._sites.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self, interval: float = 1.0) -> None:
        """Every ``interval`` seconds start the due sites' tasks, without waiting for them,
        until cancelled (then the tasks are cancelled too)."""
        try:
            while True:
                try:
                    await self.start_due()
                except Exception as exc:
                    self.storage.outage.report(exc, log, "webhook delivery run failed")
                await asyncio.sleep(interval)
        finally:
            await self.close()
