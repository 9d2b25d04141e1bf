"""Batching, ids and retries for what leaves the device — the decisions, not the I/O.

The worker does the actual ``fetch``; this module decides *what* to send and *when*. Every batch
gets a random id when it is first formed and keeps it across retries, so the server can
acknowledge a retried batch without storing it twice. One batch is in flight at a time; new
signals wait in the queue (bounded, oldest dropped first) until it is acknowledged.

Batches are paced by ``interval_ms`` (at most one every 2 s by default). A change that may make
or unmake a hint asks for the next batch *now* (:meth:`Outbox.send_soon`): it skips the pacing
once — never the one-in-flight rule, never a retry's backoff — so the page gets its hint one
round trip after the moment that mattered, not up to an interval later.
"""

from __future__ import annotations

import os
from typing import Any, Final

from .privacy import allowed_envelope, filter_signals
from .records import field, record
from .schema import MAX_SIGNALS_PER_BATCH

__all__ = ["Batch", "Outbox", "new_id"]

#: Upper bound on queued signals; a visitor offline for an hour must not grow memory forever.
MAX_QUEUED: Final = 2_000
#: Upper bound on signals kept in sessionStorage across a navigation.
MAX_PERSISTED: Final = 400
BACKOFF_START_MS: Final = 1_000.0
BACKOFF_MAX_MS: Final = 60_000.0
#: A batch retried this many times is dropped: the server is refusing, not flaky.
MAX_ATTEMPTS: Final = 8


_URL_SAFE: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def new_id() -> str:
    """A random URL-safe id: 22 characters carrying 128 random bits; in Pyodide ``os.urandom``
    is crypto.getRandomValues. Written out rather than ``secrets.token_urlsafe`` so that
    ``secrets``, ``hmac`` and ``base64`` stay out of the browser's trimmed stdlib."""
    n = int.from_bytes(os.urandom(16), "big")
    return "".join(_URL_SAFE[(n >> (6 * i)) & 63] for i in range(22))


@record
class Batch:
    id: str
    signals: list[dict[str, Any]]
    attempts: int = 0
    not_before: float = 0.0
    #: True from the moment the worker sends it until the server's answer is acknowledged.
    awaiting: bool = False

    def body(self, site: str, key: str, session: str) -> dict[str, Any]:
        """The collect body: the visitor's key proves who sends it (the server derives the
        id from it, ``client_py/identity.py``); the id itself is never sent."""
        return {
            "site": site,
            "key": key,
            "session": session,
            "batch": self.id,
            "signals": self.signals,
        }


@record
class Outbox:
    """Queued signals, the batch in flight, and the retry schedule."""

    site: str
    key: str
    """The visitor key (``client_py/identity.py``), not the id."""
    session: str
    interval_ms: float = 2_000.0
    queue: list[dict[str, Any]] = field(default_factory=list)
    in_flight: Batch | None = None
    dropped: int = 0
    last_sent_at: float = float("-inf")
    #: The next batch skips the pacing interval (see :meth:`send_soon`).
    urgent: bool = False

    def add(self, signals: list[dict[str, Any]]) -> None:
        kept, dropped = filter_signals(signals) if signals else ([], 0)
        self.dropped += dropped
        self.queue.extend(kept)
        overflow = len(self.queue) - MAX_QUEUED
        if overflow > 0:
            del self.queue[:overflow]
            self.dropped += overflow

    def send_soon(self) -> None:
        """Let the next batch skip the pacing interval, once: what is queued now matters.

        It still waits for the batch in flight (and a retry's backoff); if nothing is queued
        when a batch could go, the request lapses rather than hurrying some later change.
        """
        self.urgent = True

    def next_batch(self, now: float, *, force: bool = False) -> Batch | None:
        """The batch to send now, or None: one in flight at a time, paced by the interval
        unless :meth:`send_soon` (or ``force``) says otherwise."""
        retry = self.in_flight
        if retry is not None:
            if retry.awaiting or now < retry.not_before:
                return None
            retry.attempts += 1
            retry.awaiting = True
            return retry
        if not self.queue:
            self.urgent = False
            return None
        if not (force or self.urgent) and now - self.last_sent_at < self.interval_ms:
            return None
        batch = self._take()
        if batch is not None:
            batch.attempts, batch.awaiting = 1, True
            self.in_flight = batch
            self.last_sent_at = now
            self.urgent = False
        return batch

    def final_batch(self) -> Batch | None:
        """Everything still queued, for the page's last moments (sent with ``keepalive``).

        It is not tracked for retries: the page is going away and nobody will hear the answer.
        Signals are cumulative values, so one lost here is superseded by the next change.
        """
        return self._take() if self.queue else None

    def _take(self) -> Batch | None:
        signals = self.queue[:MAX_SIGNALS_PER_BATCH]
        del self.queue[:MAX_SIGNALS_PER_BATCH]
        batch = Batch(new_id(), signals)
        if not allowed_envelope(self.site, self.key, self.session, batch.id):
            self.dropped += len(signals)
            return None
        return batch

    def snapshot(self) -> dict[str, Any]:
        """Unsent signals, kept in the page's sessionStorage: a small offline queue that survives
        a navigation. The batch in flight keeps its id, so its retry stays idempotent."""
        batch = self.in_flight
        return {
            "queue": self.queue[-MAX_PERSISTED:],
            "in_flight": None if batch is None else {"id": batch.id, "signals": batch.signals},
        }

    def restore(self, data: object) -> None:
        """Take back a snapshot; every signal passes the privacy filter again."""
        if not isinstance(data, dict):
            return
        queue = data.get("queue")
        if isinstance(queue, list):
            self.add(queue[-MAX_PERSISTED:])
        batch = data.get("in_flight")
        if isinstance(batch, dict) and isinstance(batch.get("signals"), list):
            signals, _ = filter_signals(batch["signals"][:MAX_SIGNALS_PER_BATCH])
            batch_id = batch.get("id")
            if (
                signals
                and isinstance(batch_id, str)
                and allowed_envelope(self.site, self.key, self.session, batch_id)
            ):
                self.in_flight = Batch(batch_id, signals)

    def acknowledge(self, batch_id: str, status: int, now: float) -> None:
        """Record the server's answer (0 = network error) for the batch in flight."""
        batch = self.in_flight
        if batch is None or batch.id != batch_id:
            return
        batch.awaiting = False
        retryable = status == 0 or status == 429 or status >= 500
        if 200 <= status < 300 or not retryable or batch.attempts >= MAX_ATTEMPTS:
            if not 200 <= status < 300:
                self.dropped += len(batch.signals)
            self.in_flight = None
            return
        delay = min(BACKOFF_START_MS * 2 ** (batch.attempts - 1), BACKOFF_MAX_MS)
        batch.not_before = now + delay
