"""One report table as CSV: the same rows as the chart, ``< k`` where the report has null."""

from __future__ import annotations

import csv
import io

from rapport.server.report.model import Report, Table

__all__ = ["find_table", "table_csv"]


def find_table(report: Report, table_id: str) -> Table | None:
    for panel in report.panels:
        for table in panel.tables:
            if table.id == table_id:
                return table
    return None


def table_csv(table: Table, k: int) -> str:
    """The table as CSV text (header first); suppressed cells read ``< k``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([f"< {k}" if cell is None else cell for cell in row])
    return out.getvalue()
