"""Hint rules: the default playbook applied to a profile (no I/O, easy to test).

The rules themselves are data: ``server/playbook/default.toml`` (shipped) and a site's own
file merged over it (``rapport site playbook NAME FILE``). See ``docs/hints.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapport.server.hints.model import Hint
from rapport.server.playbook import FeedbackEntry, Playbook, default_playbook, evaluate
from rapport.server.profiles import Profile

__all__ = ["hints_for"]


def hints_for(
    profile: Profile,
    *,
    now: float,
    playbook: Playbook | None = None,
    feedback: Sequence[FeedbackEntry] = (),
) -> list[Hint]:
    """The hints that apply to ``profile`` at time ``now`` (unix seconds)."""
    return evaluate(profile, playbook or default_playbook(), now=now, feedback=feedback)
