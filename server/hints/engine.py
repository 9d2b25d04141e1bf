"""The per-app hints engine: site playbooks, holdout, feedback, the hint log, CRM events.

One instance per app (``Services.hints``). Request handlers call :meth:`HintEngine.hints`;
the hint log is written by a background flush (``flush``), never on the request path, and
new log rows of treated visitors become webhook events. The same call scores the visitor's
conversion probability with the site's model (``server/scoring``); the first time in a session
it reaches the playbook's ``[webhooks] hot_lead`` threshold, a ``hot_lead`` event is queued by
the same flush (treated visitors only, once per visitor and session).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import msgspec

from rapport.server.hints import store as hint_store
from rapport.server.hints.model import Hint
from rapport.server.holdout import in_control
from rapport.server.playbook import FeedbackEntry, Playbook, PlaybookError, evaluate, site_playbook
from rapport.server.profiles import Profile
from rapport.server.scoring import LeadScorer, ScoreModel, lead_scorer, prior_model
from rapport.server.sites import config_store
from rapport.server.storage.base import HintLogRow, Storage
from rapport.server.webhooks.events import HotLead

__all__ = ["HintDecision", "HintEngine"]

log = logging.getLogger(__name__)

_LOGGED_KEYS: Final = 100_000
_MODELS: Final = msgspec.json.Decoder(dict[str, ScoreModel])


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
        on_hot_leads: Callable[[list[HotLead]], object] | None = None,
    ) -> None:
        """``on_new_hints`` gets new hint-log rows, ``on_hot_leads`` new hot leads (``app.py``
        queues both for the site's webhooks)."""
        self.storage = storage
        self.clock = clock
        self.ttl = ttl
        self._playbooks: dict[int, tuple[float, Playbook]] = {}
        self._pending: list[HintLogRow] = []
        self._logged: OrderedDict[tuple[int, str, str, int], None] = OrderedDict()
        self.on_new_hints = on_new_hints
        self.on_hot_leads = on_hot_leads
        self._models: dict[int, tuple[float, ScoreModel, LeadScorer]] = {}
        self._hot: OrderedDict[tuple[int, str, str], None] = OrderedDict()
        self._pending_leads: list[HotLead] = []

    async def playbook(self, site_id: int) -> Playbook:
        """The site's effective playbook (its own file over the default)."""
        cached = self._playbooks.get(site_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        text = await config_store.site_config(self.storage, site_id, "playbook")
        try:
            playbook = site_playbook(text, f"site {site_id} playbook")
        except PlaybookError:  # validated when set; a bad row must not break ingest
            log.exception("stored playbook of site %d is invalid; using the default", site_id)
            playbook = site_playbook(None)
        self._playbooks[site_id] = (now + self.ttl, playbook)
        return playbook

    async def conversion_model(self, site_id: int) -> ScoreModel:
        """The site's trained ``conversion`` model (cached like playbooks), or the priors."""
        return (await self._conversion(site_id))[0]

    async def _conversion(self, site_id: int) -> tuple[ScoreModel, LeadScorer]:
        """:meth:`conversion_model` and its :func:`~rapport.server.scoring.lead_scorer`."""
        cached = self._models.get(site_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        text = await config_store.site_config(self.storage, site_id, "model")
        try:
            model = (_MODELS.decode(text) if text else {}).get("conversion")
        except msgspec.ValidationError:  # written by ``rapport model train``; never break ingest
            log.exception("stored model of site %d is invalid; using the priors", site_id)
            model = None
        model = model or prior_model("conversion")
        scorer = lead_scorer(model)
        self._models[site_id] = (now + self.ttl, model, scorer)
        return model, scorer

    def invalidate(self, site_id: int | None = None) -> None:
        """Forget cached playbooks and models (after ``rapport site playbook``/``model train``)."""
        if site_id is None:
            self._playbooks.clear()
            self._models.clear()
        else:
            self._playbooks.pop(site_id, None)
            self._models.pop(site_id, None)

    async def hints(
        self, site_id: int, visitor: str, profile: Profile, *, now: float
    ) -> HintDecision:
        """The visitor's hints; control visitors get none (but theirs are logged)."""
        playbook = await self.playbook(site_id)
        computed = evaluate(profile, playbook, now=now)
        if computed:  # feedback is read only when some rule fires
            rows = await hint_store.feedback(
                self.storage, site_id, visitor, since=now - playbook.feedback.window_seconds
            )
            if rows:
                entries = [FeedbackEntry(r.hint_id, r.outcome, r.at) for r in rows]
                computed = evaluate(profile, playbook, now=now, feedback=entries)
        control = in_control(site_id, visitor, playbook.experiment.holdout)
        self._remember(site_id, visitor, computed, "control" if control else "treated", now)
        if not control:  # the control group gets no treatment, CRM follow-ups included
            await self._check_lead(site_id, visitor, profile, playbook, now)
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

    async def _check_lead(
        self, site_id: int, visitor: str, profile: Profile, playbook: Playbook, now: float
    ) -> None:
        session = profile.current.id
        key = (site_id, visitor, session)
        if not session or key in self._hot:
            return
        threshold = playbook.webhooks.hot_lead
        _, scorer = await self._conversion(site_id)
        scores = scorer(profile, now, threshold)
        if scores is None:
            return
        self._hot[key] = None
        if len(self._hot) > _LOGGED_KEYS:
            self._hot.popitem(last=False)
        self._pending_leads.append(
            HotLead(site_id, visitor, session, scores.probability, threshold,
                    scores.contributions, scores.source, now)
        )  # fmt: skip

    async def flush(self) -> list[HintLogRow]:
        """Write pending hint-log rows; returns (and reports) the ones that were new.
        Hot leads found since the last flush are reported too."""
        pending, self._pending = self._pending, []
        leads, self._pending_leads = self._pending_leads, []
        new = await hint_store.log_hints(self.storage, pending) if pending else []
        if new and self.on_new_hints is not None:
            result = self.on_new_hints(new)
            if asyncio.iscoroutine(result):
                await result
        if leads:
            await self._report_leads(leads)
        return new

    async def _report_leads(self, leads: list[HotLead]) -> None:
        if self.on_hot_leads is not None:
            result = self.on_hot_leads(leads)
            if asyncio.iscoroutine(result):
                await result

    async def run(self, interval: float = 1.0) -> None:
        """Flush every ``interval`` seconds until cancelled (then flush once more)."""
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await self.flush()
                except Exception as exc:
                    self.storage.outage.report(exc, log, "hint log flush failed")
        finally:
            try:
                await self.flush()
            except Exception as exc:
                self.storage.outage.report(exc, log, "final hint log flush failed")
