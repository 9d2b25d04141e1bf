"""Rate limits: an O(1) token bucket per key (client IP, site key) with bounded memory.

Litestar's built-in limiter keeps a JSON list of timestamps per key in a store and cut
ingest throughput 2–3× in measurements; a bucket is two floats and one dict operation.

Memory is bounded twice: buckets live in an ``OrderedDict`` in least-recently-used order,
each new key first evicts up to two buckets that have been idle long enough to be full
again (forgetting a full bucket changes nothing), and at ``max_keys`` the least recently
used bucket is dropped whatever its state.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS

from rapport.server.errors import ApiError

__all__ = ["DEFAULT_MAX_KEYS", "TokenBuckets", "rate_limited"]

DEFAULT_MAX_KEYS: Final = 100_000
#: Idle buckets evicted per new key (amortised O(1) clean-up).
_SWEEP_PER_INSERT: Final = 2


class TokenBuckets:
    """``rate`` tokens per second per key, up to ``burst``; each request takes one.

    ``rate <= 0`` disables the limit (:meth:`take` always returns 0).
    """

    __slots__ = ("_buckets", "_clock", "_full_after", "burst", "max_keys", "rate")

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, 2.0 * self.rate))
        if self.rate > 0 and self.burst < 1:
            raise ValueError("burst must be at least 1")
        self.max_keys = max_keys
        self._clock = clock
        # key -> [tokens, last update]
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._full_after = self.burst / self.rate if self.rate > 0 else 0.0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if allowed, else seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            self._make_room(now)
            buckets[key] = [self.burst - 1.0, now]
            return 0.0
        buckets.move_to_end(key)
        tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self.rate

    def _make_room(self, now: float) -> None:
        buckets = self._buckets
        for _ in range(_SWEEP_PER_INSERT):
            if not buckets:
                return
            oldest = next(iter(buckets.values()))
            if now - oldest[1] < self._full_after:
                break
            buckets.popitem(last=False)
        while len(buckets) >= self.max_keys:
            buckets.popitem(last=False)


def rate_limited(wait: float, what: str, field: str | None = None) -> ApiError:
    """The 429 for a request over ``what``'s limit, with ``Retry-After`` in whole seconds."""
    retry_after = max(1, math.ceil(wait))
    return ApiError(
        HTTP_429_TOO_MANY_REQUESTS,
        f"rate limit exceeded for this {what}; retry after {retry_after} s",
        field,
        headers={"Retry-After": str(retry_after)},
    )
