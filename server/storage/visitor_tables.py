"""The one list of tables that mention a visitor: erasure deletes from each, export reads each.

Every table with a ``visitor`` column is here, and nowhere else is such a list kept:
``erase_visitor`` and the visitor export (``GET /v1/visitors/{id}``) both walk
:data:`VISITOR_TABLES`, and ``tests/server/test_visitor_tables.py`` compares it with the
live schema of both backends, so a migration that adds a table with a ``visitor`` column
fails the suite until the table is listed here (and so is erased and exported).

Each entry also says how its rows are exported: the columns (``site_id`` and ``visitor``
are implied), which of them hold JSON text (embedded as JSON, not as a string), and a
stable order. Every table but ``signals`` has an index that starts with ``(site_id,
visitor)`` (migration 0004 adds the missing ones), so a visitor's rows are found without
scanning anyone else's. ``signals`` is found through the visitor's ``batches`` rows, which
record the span of ids their signals got (migration 0007: an index on ``signals`` by visitor
halved ingest). On PostgreSQL ``signals`` is a view (migration 0009): a batch's signals are in
its ``batches`` row, and the signals of batches stored before that migration are the rows of
``signal_rows`` (:data:`ROWS_BEHIND_VIEWS`), which erasure and export reach through the batches too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["ROWS_BEHIND_VIEWS", "VISITOR_TABLES", "VisitorTable", "visitor_table"]


@dataclass(frozen=True, slots=True)
class VisitorTable:
    """A table with per-visitor rows, and how the visitor's export shows them."""

    name: str
    columns: tuple[str, ...]
    """Exported columns, in order (``site_id`` and ``visitor`` are the key, not exported)."""
    json_columns: frozenset[str]
    """Columns whose text is JSON: exported as the JSON value itself."""
    order: str
    """``ORDER BY`` of the export: unique, so pages neither overlap nor skip."""
    sqlite_order: str | None = None
    """SQLite's own order where it differs (``rowid``: the index's order, no sort)."""
    through_batches: bool = False
    """Rows found through the visitor's ``batches`` (their ``first_signal``..``last_signal``
    id span and ``batch_id``), not through an index of the table's own."""


#: Every table with a ``visitor`` column (checked against the live schema by a test).
VISITOR_TABLES: Final[tuple[VisitorTable, ...]] = (
    VisitorTable("profiles", ("data", "updated_at"), frozenset({"data"}), "updated_at"),
    VisitorTable(
        "signals",
        ("kind", "body", "batch_id", "session", "received_at"),
        frozenset({"body"}),
        "b.first_signal, s.id",
        sqlite_order="b.first_signal, s.rowid",
        through_batches=True,
    ),
    VisitorTable(
        "batches",
        ("batch_id", "session", "signal_count", "received_at"),
        frozenset(),
        "received_at, batch_id",
    ),
    VisitorTable(
        "hint_log",
        ("hint_id", "kind", "pattern", "strength", "arm", "first_at"),
        frozenset(),
        "first_at, hint_id",
    ),
    VisitorTable(
        "hint_feedback", ("hint_id", "outcome", "at"), frozenset(), "at, hint_id, ctid", "rowid"
    ),
    VisitorTable(
        "webhook_deliveries",
        ("event", "body", "status", "attempts", "created_at", "delivered_at"),
        frozenset({"body"}),
        "id",
    ),
    # The report's distinct-visitor bookkeeping (server/report): which cells a visitor touched
    # in an hour, as a bitmap (server/report/cells.py names the bits). Aggregates elsewhere hold
    # no visitor; these rows go with the visitor.
    VisitorTable("report_reach", ("hour", "w0", "w1", "w2", "w3"), frozenset(), "hour"),
)

#: PostgreSQL's tables that hold rows of a listed view (table → view): erased and exported with
#: the view's entry, never listed themselves (the export would show their rows twice).
ROWS_BEHIND_VIEWS: Final[dict[str, str]] = {"signal_rows": "signals"}

_BY_NAME: Final = {table.name: table for table in VISITOR_TABLES}


def visitor_table(name: str) -> VisitorTable:
    """The entry for ``name`` (KeyError for a table that holds no visitor rows)."""
    return _BY_NAME[name]
