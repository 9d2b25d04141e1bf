"""The holdout: a deterministic share of visitors whose hints are computed but not applied."""

from __future__ import annotations

import hashlib

__all__ = ["arm_of", "in_control"]


def in_control(site_id: int, visitor: str, share: float) -> bool:
    """Whether ``visitor`` of ``site_id`` is in the control group.

    A hash of site and visitor id, so the same visitor stays in the same group on every
    request, process and server, and the groups of two sites are independent.
    """
    if share <= 0:
        return False
    digest = hashlib.sha256(f"rapport-holdout:{site_id}:{visitor}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def arm_of(site_id: int, visitor: str, share: float) -> str:
    """``control`` or ``treated``."""
    return "control" if in_control(site_id, visitor, share) else "treated"
