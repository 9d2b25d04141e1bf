"""What retention deletes, per table: the SQL condition that makes a row old.

Both backends' ``prune`` run these; ``storage/base.py`` stays an interface without SQL.
"""

from __future__ import annotations

from typing import Final

__all__ = ["RETAINED"]

#: What retention deletes: table → the condition that makes a row old (``?``: the cut-off).
#: Profiles are kept; a pending webhook delivery is kept until it is delivered or given up.
RETAINED: Final[dict[str, str]] = {
    "signals": "received_at < ?",
    "batches": "received_at < ?",
    "hint_log": "first_at < ?",
    "hint_feedback": "at < ?",
    "webhook_deliveries": "created_at < ? AND status <> 'pending'",
}
