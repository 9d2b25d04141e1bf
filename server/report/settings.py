"""A site's report settings: the k of the k-anonymity rule and the time zone of daily buckets.

Stored as JSON in ``site_config`` (name ``report``) so that no table changes for two values;
``rapport site report-settings NAME --k 7 --timezone Europe/Berlin`` sets them.
"""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from rapport.server.sites import config_store
from rapport.server.storage.base import Storage

__all__ = [
    "DEFAULT_K",
    "MIN_K",
    "InvalidReportSettings",
    "ReportSettings",
    "report_settings",
    "set_report_settings",
]

#: Numbers about fewer than this many distinct visitors are never sent (the default).
DEFAULT_K: Final = 5
#: The smallest k a site may choose: 1 would publish single visitors.
MIN_K: Final = 2
MAX_K: Final = 1000
_CONFIG_NAME: Final = "report"


class InvalidReportSettings(ValueError):
    """A k below the minimum or an unknown time zone."""


class ReportSettings(msgspec.Struct, frozen=True, kw_only=True):
    k: int = DEFAULT_K
    timezone: str = "UTC"

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _validated(settings: ReportSettings) -> ReportSettings:
    if not MIN_K <= settings.k <= MAX_K:
        raise InvalidReportSettings(f"k must be between {MIN_K} and {MAX_K}, not {settings.k}")
    try:
        settings.zone()
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidReportSettings(f"unknown time zone {settings.timezone!r}") from None
    return settings


async def report_settings(storage: Storage, site_id: int) -> ReportSettings:
    """The site's settings (defaults when none are stored; a stored k is never below MIN_K)."""
    data = await config_store.site_config(storage, site_id, _CONFIG_NAME)
    if data is None:
        return ReportSettings()
    stored = msgspec.json.decode(data, type=ReportSettings)
    return ReportSettings(k=max(MIN_K, stored.k), timezone=stored.timezone)


async def set_report_settings(
    storage: Storage,
    site_id: int,
    *,
    k: int | None = None,
    timezone: str | None = None,
    now: float,
) -> ReportSettings:
    """Change k and/or the time zone; raises :class:`InvalidReportSettings`."""
    current = await report_settings(storage, site_id)
    new = _validated(
        ReportSettings(
            k=current.k if k is None else k,
            timezone=current.timezone if timezone is None else timezone,
        )
    )
    await config_store.set_site_config(
        storage, site_id, _CONFIG_NAME, msgspec.json.encode(new).decode(), now=now
    )
    return new
