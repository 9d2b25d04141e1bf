"""The objects request handlers share, injected by Litestar as the ``services`` dependency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rapport.server.config import Settings
from rapport.server.hints.engine import HintEngine
from rapport.server.limits import TokenBuckets
from rapport.server.metrics import Metrics
from rapport.server.sites.directory import SiteDirectory
from rapport.server.storage.base import Storage
from rapport.server.visitors.limits import RightsLimits

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """Storage, the site cache, settings, the wall clock (replaceable in tests), the hints
    engine, metrics and the rate limiters."""

    settings: Settings
    storage: Storage
    sites: SiteDirectory
    clock: Callable[[], float]
    hints: HintEngine
    metrics: Metrics = field(default_factory=Metrics)
    ip_limits: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    site_limits: TokenBuckets = field(default_factory=lambda: TokenBuckets(0))
    rights_limits: RightsLimits = field(default_factory=RightsLimits)
