"""The per-app hints engine: site playbooks, holdout, feedback, the hint log, CRM events.

One instance per app (``app.state.hints``). Request handlers call :meth:`HintEngine.hints`;
the hint log is written by a background flush (``flush``), never on the request path, and
new log rows of treated visitors become webhook events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from server.hints.model import Hint
from server.holdout import in_control
from server.playbook import FeedbackEntry, Playbook, PlaybookError, evaluate, site_playbook
from server.profiles import Profile
from server.storage.base import HintLogRow, Storage

__all__ = ["EVENTS", "HintDecision", "HintEngine", "events_for"]

log = logging.getLogger(__name__)

#: CRM events a webhook can subscribe to.
EVENTS: Final = ("hot_lead", "irritated_customer", "returning_with_problem")
_LOGGED_KEYS: Final = 100_000


def events_for(row: HintLogRow, lead_score: float | None, hot_lead_at: float = 0.7) -> list[str]:
    """The CRM events a newly computed hint stands for."""
    events = []
    if row.kind == "escalate_to_human" or row.pattern in ("irritated", "irritation"):
        events.append("irritated_customer")
    if row.pattern == "returning_with_problem":
        events.append("returning_with_problem")
    if lead_score is not None and lead_score >= hot_lead_at:
        events.append("hot_lead")
    return events


@dataclass(frozen=True, slots=True)
class HintDecision:
    """What the page gets: hints (empty in control) and whether the visitor is held out."""

    hints: list[Hint]
    holdout: bool
    computed: list[Hint]
    """What the rules produced (logged for both groups)."""


class HintEngine:
    """Site playbooks (cached ``ttl`` s), holdout, feedback and the hint log."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Callable[[], float] = time.time,
        ttl: float = 5.0,
        on_new_hints: Callable[[list[HintLogRow]], object] | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.ttl = ttl
        self._playbooks: dict[int, tuple[float, Playbook]] = {}
        self._pending: list[HintLogRow] = []
        self._logged: OrderedDict[tuple[int, str, str, int], None] = OrderedDict()
        self.on_new_hints = on_new_hints

    async def playbook(self, site_id: int) -> Playbook:
        """The site's effective playbook (its own file over the default)."""
        cached = self._playbooks.get(site_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        text = await self.storage.site_config(site_id, "playbook")
        try:
            playbook = site_playbook(text, f"site {site_id} playbook")
        except PlaybookError:  # validated when set; a bad row must not break ingest
            log.exception("stored playbook of site %d is invalid; using the default", site_id)
            playbook = site_playbook(None)
        self._playbooks[site_id] = (now + self.ttl, playbook)
        return playbook

    def invalidate(self, site_id: int | None = None) -> None:
        """Forget cached playbooks (after ``rapport site playbook``)."""
        if site_id is None:
            self._playbooks.clear()
        else:
            self._playbooks.pop(site_id, None)

    async def hints(
        self, site_id: int, visitor: str, profile: Profile, *, now: float
    ) -> HintDecision:
        """The visitor's hints; control visitors get none (but theirs are logged)."""
        playbook = await self.playbook(site_id)
        computed = evaluate(profile, playbook, now=now)
        if computed:  # feedback is read only when some rule fires
            rows = await self.storage.feedback(
                site_id, visitor, since=now - playbook.feedback.window_seconds
            )
            if rows:
                entries = [FeedbackEntry(r.hint_id, r.outcome, r.at) for r in rows]
                computed = evaluate(profile, playbook, now=now, feedback=entries)
        control = in_control(site_id, visitor, playbook.experiment.holdout)
        self._remember(site_id, visitor, computed, "control" if control else "treated", now)
        return HintDecision(hints=[] if control else computed, holdout=control, computed=computed)

    def _remember(
        self, site_id: int, visitor: str, hints: list[Hint], arm: str, now: float
    ) -> None:
        for hint in hints:
            key = (site_id, visitor, hint.id, hint.expires_at)
            if key in self._logged:
                continue
            self._logged[key] = None
            if len(self._logged) > _LOGGED_KEYS:
                self._logged.popitem(last=False)
            self._pending.append(
                HintLogRow(
                    site_id, visitor, hint.id, hint.kind, hint.pattern, hint.strength, arm, now
                )
            )

    async def flush(self) -> list[HintLogRow]:
        """Write pending hint-log rows; returns (and reports) the ones that were new."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        new = await self.storage.log_hints(pending)
        if new and self.on_new_hints is not None:
            result = self.on_new_hints(new)
            if asyncio.iscoroutine(result):
                await result
        return new

    async def run(self, interval: float = 1.0) -> None:
        """Flush every ``interval`` seconds until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.flush()
                except Exception:
                    log.exception("hint log flush failed")
        finally:
            try:
                await self.flush()
            except Exception:
                log.exception("final hint log flush failed")
