"""Limits on visitor-rights calls, so that export and erasure cannot be turned into a weapon.

Anyone can invent a visitor secret, fill that visitor with signals and then ask for the
export again and again. Three bounds, per process:

* a token bucket per client IP, taken by every ``GET``/``DELETE /v1/visitors/…`` (before
  the secret is checked);
* a token bucket per ``(site, visitor)``, taken once the secret checked out (so a stranger
  who knows an id cannot spend that visitor's budget);
* at most ``export_concurrency`` exports streaming at once (others get 503 with
  ``Retry-After``), each cut after ``export_deadline`` seconds: a client that reads slowly
  cannot hold a database snapshot or a pooled connection for long;
* the exports of a process busy at most ``export_share`` of the time, all together
  (:class:`ExportPace`): their share of the process's CPU is bounded, so another site's
  requests keep their latency (``server/visitors/export.py`` says why).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rapport.server.errors import ApiError
from rapport.server.limits import TokenBuckets, rate_limited

__all__ = ["ExportPace", "RightsLimits"]


class ExportPace:
    """One duty cycle for every export of the process: busy at most ``share`` of the time.

    After each chunk the export reports how long it took (reading and encoding, wall time)
    and sleeps until the exports of the process, all together, have been busy no more than
    ``share`` of the time since (a virtual clock: two exports split the share instead of
    each getting it). Measured in time rather than rows, so a slow or loaded machine slows
    the export down, not everyone else. It always yields to the loop at least once;
    ``share`` outside ``(0, 1)``: no pacing, just the yield.
    """

    __slots__ = ("_clock", "_next", "share")

    def __init__(self, share: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = float(share)
        self._clock = clock
        self._next = 0.0

    def delay(self, busy: float) -> float:
        """Book ``busy`` seconds of work that just ended; seconds to wait before the next."""
        if not 0 < self.share < 1:
            return 0.0
        now = self._clock()
        self._next = max(self._next, now - busy) + busy / self.share
        return max(0.0, self._next - now)

    async def __call__(self, busy: float) -> None:
        await asyncio.sleep(self.delay(busy))


@dataclass(frozen=True, slots=True)
class RightsLimits:
    """The buckets and the export slots (see the module docstring)."""

    per_ip: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    per_visitor: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    exports: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    pace: ExportPace = field(default_factory=lambda: ExportPace(1.0))

    @classmethod
    def per_minute(
        cls,
        *,
        ip: float,
        visitor: float,
        concurrency: int,
        max_keys: int,
        share: float = 1.0,
    ) -> RightsLimits:
        """Buckets refilled at ``ip`` and ``visitor`` calls a minute (0 disables); the burst
        is a minute's worth (at least 1). Exports busy at most ``share`` of the time in all."""

        def buckets(per_minute: float) -> TokenBuckets:
            return TokenBuckets(per_minute / 60, max(1.0, per_minute), max_keys=max_keys)

        return cls(
            buckets(ip),
            buckets(visitor),
            asyncio.Semaphore(max(1, concurrency)),
            ExportPace(share),
        )

    def take_ip(self, ip: str) -> None:
        """Spend one of this IP's rights calls or raise the 429."""
        if (wait := self.per_ip.take(ip)) > 0:
            raise rate_limited(wait, "client address (visitor rights)")

    def take_visitor(self, site_id: int, visitor: str) -> None:
        """Spend one of this visitor's rights calls or raise the 429."""
        if (wait := self.per_visitor.take(f"{site_id}:{visitor}")) > 0:
            raise rate_limited(wait, "visitor (visitor rights)", "visitor")

    def export_slot_or_busy(self) -> None:
        """Raise 503 when every export slot is streaming."""
        if self.exports.locked():
            raise ApiError(
                503,
                "too many visitor exports in progress; retry shortly",
                headers={"Retry-After": "2"},
            )
