"""The objects request handlers share, injected by Litestar as the ``services`` dependency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.config import Settings
from server.sites.directory import SiteDirectory
from server.storage.base import Storage

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """Storage, the site cache, settings and the wall clock (replaceable in tests)."""

    settings: Settings
    storage: Storage
    sites: SiteDirectory
    clock: Callable[[], float]
