"""Limits on visitor-rights calls, so that export and erasure cannot be turned into a weapon.

Anyone can invent a visitor secret, fill that visitor with signals and then ask for the
export again and again. Three bounds, per process:

* a token bucket per client IP, taken by every ``GET``/``DELETE /v1/visitors/…`` (before
  the secret is checked);
* a token bucket per ``(site, visitor)``, taken once the secret checked out (so a stranger
  who knows an id cannot spend that visitor's budget);
* at most ``export_concurrency`` exports streaming at once (others get 503 with
  ``Retry-After``), each cut after ``export_deadline`` seconds: a client that reads slowly
  cannot hold a database snapshot or a pooled connection for long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from server.errors import ApiError
from server.limits import TokenBuckets, rate_limited

__all__ = ["RightsLimits"]


@dataclass(frozen=True, slots=True)
class RightsLimits:
    """The buckets and the export slots (see the module docstring)."""

    per_ip: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    per_visitor: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    exports: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

    @classmethod
    def per_minute(
        cls, *, ip: float, visitor: float, concurrency: int, max_keys: int
    ) -> RightsLimits:
        """Buckets refilled at ``ip`` and ``visitor`` calls a minute (0 disables); the burst
        is a minute's worth (at least 1)."""

        def buckets(per_minute: float) -> TokenBuckets:
            return TokenBuckets(per_minute / 60, max(1.0, per_minute), max_keys=max_keys)

        return cls(buckets(ip), buckets(visitor), asyncio.Semaphore(max(1, concurrency)))

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
