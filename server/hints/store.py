"""The hints engine's tables: visitors' feedback on hints and the hint log (the SQL, run through
any :class:`~server.storage.base.Storage` backend)."""

from __future__ import annotations

from collections.abc import Sequence

from rapport.server.storage.base import FeedbackRow, HintLogRow, Storage

__all__ = ["add_feedback", "feedback", "hint_log", "log_hints"]


async def add_feedback(
    storage: Storage, site_id: int, visitor: str, hint_id: str, outcome: str, *, at: float
) -> None:
    """Record a visitor's feedback on a hint."""
    await storage.sql_execute(
        "INSERT INTO hint_feedback (site_id, visitor, hint_id, outcome, at) VALUES (?, ?, ?, ?, ?)",
        (site_id, visitor, hint_id, outcome, float(at)),
    )


async def feedback(
    storage: Storage, site_id: int, visitor: str, *, since: float
) -> list[FeedbackRow]:
    """The visitor's feedback since ``since``, oldest first (indexed)."""
    rows = await storage.sql_fetch(
        "SELECT hint_id, outcome, at FROM hint_feedback "
        "WHERE site_id = ? AND visitor = ? AND at >= ? ORDER BY at",
        (site_id, visitor, float(since)),
    )
    return [FeedbackRow(str(h), str(o), float(a)) for h, o, a in rows]


async def log_hints(storage: Storage, rows: Sequence[HintLogRow]) -> list[HintLogRow]:
    """Record first computations of hints; returns the rows that were new."""
    new: list[HintLogRow] = []
    for row in rows:
        inserted = await storage.sql_fetch(
            "INSERT INTO hint_log (site_id, visitor, hint_id, kind, pattern, strength, arm, "
            "first_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (row.site_id, row.visitor, row.hint_id, row.kind, row.pattern,
             float(row.strength), row.arm, float(row.first_at)),
        )  # fmt: skip
        if inserted:
            new.append(row)
    return new


async def hint_log(storage: Storage, site_id: int) -> list[HintLogRow]:
    """Every hint-log row of a site (for the uplift report)."""
    rows = await storage.sql_fetch(
        "SELECT site_id, visitor, hint_id, kind, pattern, strength, arm, first_at "
        "FROM hint_log WHERE site_id = ? ORDER BY first_at",
        (site_id,),
    )
    return [
        HintLogRow(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), float(r[5]),
                   str(r[6]), float(r[7]))
        for r in rows
    ]  # fmt: skip
