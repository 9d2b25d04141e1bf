"""The CRM events a webhook can subscribe to, and what announces them.

The hints engine announces (new hint-log rows, :class:`HotLead`); the webhooks package
subscribes (``app.py`` wires the two), so neither imports the other's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rapport.server.storage.base import HintLogRow

__all__ = ["EVENTS", "HotLead", "events_for"]

#: CRM events a webhook can subscribe to.
EVENTS: Final = ("hot_lead", "irritated_customer", "returning_with_problem")


def events_for(row: HintLogRow) -> list[str]:
    """The CRM events a newly computed hint stands for (``hot_lead`` comes from the lead
    score, not from a hint: see :class:`HotLead`)."""
    events = []
    if row.kind == "escalate_to_human" or row.pattern in ("irritated", "irritation"):
        events.append("irritated_customer")
    if row.pattern == "returning_with_problem":
        events.append("returning_with_problem")
    return events


@dataclass(frozen=True, slots=True)
class HotLead:
    """A treated visitor whose conversion probability reached the site's threshold this
    session (the ``hot_lead`` webhook event)."""

    site_id: int
    visitor: str
    session: str
    lead_score: float
    threshold: float
    contributions: dict[str, float]
    source: str
    at: float
