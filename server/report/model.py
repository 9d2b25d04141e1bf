"""The report as sent: panels of tables, every number already through the k rule.

Every chart of the dashboard is one :class:`Table` (its accessible table and its CSV are the
same rows), so the k rule is applied once, here on the server, and the page never sees a
number it would have to hide.
"""

from __future__ import annotations

import msgspec

__all__ = ["Cell", "KRule", "Panel", "Report", "Table"]

Cell = str | int | float | None
"""A table cell: a label, a number, or ``None`` where fewer than k visitors are involved."""


class KRule:
    """The k-anonymity rule: a number involving fewer than ``k`` distinct visitors is None."""

    def __init__(self, k: int) -> None:
        self.k = k

    def count(self, value: int, visitors: int) -> int | None:
        """A count (of sessions, windows, messages …) made by ``visitors`` distinct visitors."""
        return value if visitors >= self.k else None

    def share(self, part: int, part_visitors: int, whole: int, whole_visitors: int) -> float | None:
        """``part / whole``, when both involve at least k visitors."""
        if part_visitors < self.k or whole_visitors < self.k or whole <= 0:
            return None
        return round(part / whole, 4)

    def mean(self, total: float, n: int, visitors: int) -> float | None:
        if visitors < self.k or n <= 0:
            return None
        return round(total / n, 4)


class Table(msgspec.Struct, frozen=True, kw_only=True):
    """One chart's data: a header and rows (the first column labels the row)."""

    id: str
    title: str
    chart: str
    """``line`` (the first column is a day), ``bar`` (categories) or ``table`` (no chart)."""
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""


class Panel(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    tables: list[Table]
    note: str = ""


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/admin/sites/{site_key}/report?days=N``."""

    site: str
    k: int
    """Numbers about fewer than k distinct visitors are ``null`` (the site's setting)."""
    days: int
    timezone: str
    start: str
    """First local day of the range (ISO date, in ``timezone``)."""
    end: str
    generated_at: float
    visitors: int | None
    """Distinct visitors in the range (``null`` under k)."""
    sessions: int | None
    panels: list[Panel]
