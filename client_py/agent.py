"""The worker's single entry point: messages in, things to do out — all as JSON strings.

The Web Worker (``wasm_build/src/worker.mjs``) owns every piece of I/O: it receives event batches
from the page, calls :meth:`Agent.handle`, performs the ``fetch`` requests this returns, and
posts hints and state back to the page. Keeping the boundary to JSON strings means no PyProxy
lifetimes to manage in JS and the exact same code path runs in CPython tests.

Messages (``t`` is the type):
    {"t": "ev", "e": [raw events]}                  events captured by the loader
    {"t": "tick"}                                   time passed; maybe send or retry
    {"t": "flush"}                                  the page is going away: send what is queued
    {"t": "cfg", "c": {"patterns": {...}, "rules": {...}}}   the site's overrides
                                                    (rapport.configure; see patterns.py)
    {"t": "result", "batch": id, "status": 200, "body": {...}}   the server's answer
                                                    (status 0 = network error)
    {"t": "face", "ts": ms, "p": [7 probs] | null, "f": 0..1}   one analysed camera frame
                                                    (only with camera consent): the expression
                                                    net's probabilities in its own order
                                                    (affect.MODEL_ORDER) for the main face, or
                                                    null for no face, and its frontalness.
                                                    Only window aggregates are ever sent.
    {"t": "cam", "on": false}                       the camera stopped (revoked): close the window

Reply: {"send": [{"batch": id, "body": "<json>", "keepalive": bool}], "hints": [...] | null,
        "state": "<json>" | null, "pace": "active" | "idle" | null}

``pace`` (after a ``face`` message, when it changes): how often the page should sample the
camera — the site's rate while faces are seen, one frame a second after 10 s without one
(:mod:`client_py.camera_pace`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .events import ChatText, parse_events
from .features import DEFAULT_RULES, FeatureRules, SessionFeatures
from .identity import VISITOR_KEY_PATTERN
from .patterns import (
    PATTERN_WEIGHTS,
    PatternScore,
    Term,
    score_all,
    weights_with_overrides,
)
from .records import field, record, replace
from .schema import ID_PATTERN, SITE_KEY_PATTERN
from .section_view import SectionView
from .sender import Batch, Outbox
from .signals import SignalDiffer, current_signals, hint_relevant
from .tone import ToneSession

if TYPE_CHECKING:
    from .affect import AffectTracker, WindowAggregate
    from .camera_pace import CameraPace, Pace

__all__ = ["Agent", "AgentConfig"]

_MAX_HINTS = 20


@record(frozen=True)
class AgentConfig:
    site: str
    key: str
    """The visitor key the loader derived from its secret (``client_py/identity.py``)."""
    session: str
    flush_ms: float = 2_000.0
    #: the visitor id existed before this session (kept first-party by the loader); decided on
    #: the session's first page and kept in the session state (``Agent.returning``)
    returning: bool = False
    weights: dict[str, tuple[Term, ...]] = field(default_factory=lambda: dict(PATTERN_WEIGHTS))
    rules: FeatureRules = DEFAULT_RULES

    def configured(self, overrides: object) -> AgentConfig:
        """This config with a site's overrides ``{"patterns": {...}, "rules": {...}}``."""
        if not isinstance(overrides, dict):
            return self
        return replace(
            self,
            weights=weights_with_overrides(overrides.get("patterns"), self.weights),
            rules=FeatureRules.with_overrides(overrides.get("rules"), self.rules),
        )

    @classmethod
    def from_json(cls, text: str) -> AgentConfig:
        import re

        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("config must be a JSON object")
        site, key, session = data.get("site"), data.get("key"), data.get("session")
        if not isinstance(site, str) or re.fullmatch(SITE_KEY_PATTERN, site) is None:
            raise ValueError("config.site must be a public site key (pk_…)")
        if not isinstance(key, str) or re.fullmatch(VISITOR_KEY_PATTERN, key) is None:
            raise ValueError("config.key must be a visitor key (43 base64url characters)")
        if not isinstance(session, str) or re.fullmatch(ID_PATTERN, session) is None:
            raise ValueError("config.session must be a random id")
        flush = data.get("flush_ms", 2_000.0)
        flush_ms = (
            float(flush) if isinstance(flush, int | float) and 200 <= flush <= 60_000 else 2_000.0
        )
        config = cls(
            site=site,
            key=key,
            session=session,
            flush_ms=flush_ms,
            returning=data.get("returning") in (True, 1),
        )
        overrides = data.get("config")
        for item in overrides if isinstance(overrides, list) else [overrides]:
            config = config.configured(item)
        return config


class Agent:
    """One page's view of the visitor session: features, patterns, outbox, last hints."""

    def __init__(self, config_json: str, state_json: str | None = None) -> None:
        self.config = AgentConfig.from_json(config_json)
        state = _load_state(state_json)
        if state.get("owner", self._owner) != self._owner:
            # Saved by a page of another visitor (this tab's visitor was erased in another tab,
            # and the loader made a new one): nothing of theirs, queued signals least of all,
            # may reach the new visitor. States from before this field are still read.
            state = {}
        self.features = SessionFeatures.restore(state.get("features"), self.config.rules)
        self.tone = ToneSession.restore(state.get("tone"))
        # Returning is a fact about the session, settled on its first page: the visitor id that
        # page 1 of a first visit creates must not make page 2 "returning".
        saved = state.get("returning")
        self.returning = saved if isinstance(saved, bool) else self.config.returning
        last = state.get("sent")
        self.differ = SignalDiffer(dict(last) if isinstance(last, dict) else {})
        self.outbox = Outbox(
            self.config.site, self.config.key, self.config.session, self.config.flush_ms
        )
        self.outbox.restore(state.get("outbox"))
        # The camera's analysis and pace: made (and their modules imported) by the first frame,
        # so a visit without the camera never loads them (with tone_model's deferred import,
        # ≈ 30 ms off a first visit's start-up in Chromium); None again when the camera stops,
        # so a later consent starts afresh.
        self._affect: AffectTracker | None = None
        self._pace: CameraPace | None = None
        self.sections = SectionView()
        self.camera_off_at: float | None = None
        """When the camera stopped (revoked); face-sourced hints go one window later."""
        self.hints: list[dict[str, Any]] = []
        self._hints_key = "[]"  # no hints yet: an empty answer is not news for the page

    # -- the boundary ----------------------------------------------------------------------
    def handle(self, message_json: str, now_ms: float) -> str:
        """Apply one message from the worker and say what it should do next."""
        try:
            message = json.loads(message_json)
        except ValueError:
            message = None
        kind = message.get("t") if isinstance(message, dict) else None
        hints_changed, state_changed = False, False
        sends: list[Batch] = []
        keepalive = False
        pace: Pace | None = None
        if kind == "ev":
            chatted = False
            for event in parse_events(message.get("e")):
                self.features.apply(event)
                self.sections.apply(event)
                if isinstance(event, ChatText):
                    self.tone.add(event.text, event.t)  # the text goes no further
                    chatted = True
            self.features.advance(now_ms)
            state_changed = self._queue_changes()
            if chatted and state_changed:
                self.outbox.send_soon()  # a chat message analysed: its tone/topics go now
        elif kind == "tick":
            self.features.advance(now_ms)
            state_changed = self._queue_changes()
            hints_changed = self._drop_face_hints_after_revoke(now_ms)
        elif kind == "face":
            pace = self._on_face(message, now_ms)
        elif kind == "cam":
            if self._affect is not None:
                self._add_windows(self._affect.flush(now_ms))
            self._affect = None  # a later consent starts a new baseline
            self._pace = None  # and at the site's rate
            self.camera_off_at = now_ms
        elif kind == "flush":
            self.features.advance(now_ms)
            if self._affect is not None:
                self._add_windows(self._affect.flush(now_ms))
            state_changed = self._queue_changes()
            final = self.outbox.final_batch()
            sends.extend([final] if final else [])
            keepalive = True
        elif kind == "cfg":
            self.config = self.config.configured(message.get("c"))
            self.features.rules = self.config.rules
            self.features.advance(now_ms)
            state_changed = self._queue_changes()
        elif kind == "result":
            hints_changed = self._on_result(message, now_ms)
        if not keepalive:
            batch = self.outbox.next_batch(now_ms)
            sends.extend([batch] if batch else [])
        return json.dumps(
            {
                "send": [
                    {
                        "batch": b.id,
                        "body": json.dumps(
                            b.body(self.config.site, self.config.key, self.config.session),
                            separators=(",", ":"),
                        ),
                        "keepalive": keepalive,
                    }
                    for b in sends
                ],
                "hints": self.hints if hints_changed else None,
                "state": self.state_json() if state_changed or sends else None,
                "pace": pace,
            },
            separators=(",", ":"),
        )

    def state_json(self) -> str:
        """What the page keeps in sessionStorage so the session survives a navigation."""
        return json.dumps(
            {
                "owner": self._owner,
                "features": self.features.snapshot(),
                "tone": self.tone.snapshot(),
                "returning": self.returning,
                "sent": self.differ.last,
                "outbox": self.outbox.snapshot(),
            },
            separators=(",", ":"),
        )

    @property
    def affect(self) -> AffectTracker:
        """The camera's window tracker, made (and its module imported) on first use."""
        if self._affect is None:
            from .affect import AffectTracker

            self._affect = AffectTracker()
        return self._affect

    @property
    def pace(self) -> CameraPace:
        """The camera's sampling pace, made (and its module imported) on first use."""
        if self._pace is None:
            from .camera_pace import CameraPace

            self._pace = CameraPace()
        return self._pace

    # -- internals -------------------------------------------------------------------------
    @property
    def _owner(self) -> str:
        """Whose state this is: the start of the visitor key (random base64url, so 8
        characters tell two visitors apart; the key itself need not sit in sessionStorage)."""
        return self.config.key[:8]

    def patterns(self) -> list[PatternScore]:
        return score_all(self.features, self.tone, self.config.weights, returning=self.returning)

    def _queue_changes(self) -> bool:
        """Queue what changed enough; a change that may alter the hints is sent at once."""
        signals = current_signals(self.features, self.patterns(), self.tone)
        before = dict(self.differ.last)
        changed = self.differ.changed(signals)
        self.outbox.add(changed)
        if changed and hint_relevant(before, changed):
            self.outbox.send_soon()
        return bool(changed)

    def _on_face(self, message: dict[str, Any], now_ms: float) -> Pace | None:
        """One camera frame's numbers → the affect tracker; closed windows → the outbox; the
        camera's pace, when it changes."""
        ts, probs, frontal = message.get("ts"), message.get("p"), message.get("f")
        t = float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else now_ms
        f = float(frontal) if isinstance(frontal, int | float) else 0.0
        try:
            if probs is not None and not isinstance(probs, list):
                raise TypeError("p must be a list of 7 numbers or null")
            from .affect import from_model_order

            values = from_model_order(probs) if probs is not None else None
            self.affect.update(t, values, f)
        except (TypeError, ValueError):
            return None  # a malformed or out-of-order frame is skipped, never fatal
        self.camera_off_at = None
        self._add_windows(self.affect.pop_windows())
        return self.pace.update(t, values is not None)

    def _add_windows(self, windows: list[WindowAggregate]) -> None:
        """Closed affect windows → the outbox, each with the section that was in view for most
        of it; sent at once, since a window can change the face-sourced hints."""
        for window in windows:
            signal = window.to_signal()
            section = self.sections.most_in_view(window.start_ms, window.end_ms)
            if section is not None:
                signal["section"] = section
            self.outbox.add([signal])
        if windows:
            self.outbox.send_soon()

    def _drop_face_hints_after_revoke(self, now_ms: float) -> bool:
        """One window after the camera stopped, face-sourced hints are no longer applied (the
        server lets them expire too; this covers a page that sends nothing more)."""
        kept = self._live(self.hints, now_ms)
        if len(kept) == len(self.hints):
            return False
        self.hints, self._hints_key = kept, _hints_key(kept)
        return True

    def _live(self, hints: list[dict[str, Any]], now_ms: float) -> list[dict[str, Any]]:
        off = self.camera_off_at
        if off is None or now_ms - off < self.affect.config.window_ms:
            return hints
        return [h for h in hints if h.get("source") != "face"]

    def _on_result(self, message: dict[str, Any], now_ms: float) -> bool:
        batch_id, status = message.get("batch"), message.get("status")
        if not isinstance(batch_id, str) or not isinstance(status, int):
            return False
        self.outbox.acknowledge(batch_id, status, now_ms)
        body = message.get("body")
        hints = body.get("hints") if isinstance(body, dict) else None
        if not (200 <= status < 300) or not isinstance(hints, list):
            return False
        clean = self._live([h for h in hints if isinstance(h, dict)][:_MAX_HINTS], now_ms)
        key = _hints_key(clean)
        if key == self._hints_key:
            return False
        self.hints, self._hints_key = clean, key
        return True


def _hints_key(hints: list[dict[str, Any]]) -> str:
    """What the page shows: which hints, how strong, and why (not their expiry, which moves
    with every batch and would re-fire the page's hint event for nothing) — except for
    face-sourced hints, which live only seconds past the last camera window: each window moves
    their expiry, and the page must see it (a chat drops expired hints)."""
    return json.dumps(
        sorted(
            (
                str(h.get("id")),
                str(h.get("strength")),
                str(h.get("reasons")),
                str(h.get("expires_at")) if h.get("source") == "face" else "",
            )
            for h in hints
        )
    )


def _load_state(state_json: str | None) -> dict[str, Any]:
    if not state_json:
        return {}
    try:
        state = json.loads(state_json)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}
