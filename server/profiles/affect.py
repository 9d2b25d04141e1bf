"""Camera affect windows → what the profile keeps of them, relative to the visitor's own face.

The client sends one ``affect`` window per ~5 s (only with camera consent): presence, attention,
mean expression probabilities, the dominant one, valence and arousal, micro-expressions, and
the declared section that was in view for most of the window. Absolute valence says little on
its own — some faces read "sad" or "angry" at rest to the classifier — so everything the rules
see is **relative to this visitor's neutral baseline**: the running mean of valence, arousal and
surprise over the windows whose dominant expression was ``neutral`` (their resting face),
starting from the circumplex's neutral point with the weight of :data:`PRIOR_WINDOWS` windows.

Kept per session (:class:`AffectSession`): the last :data:`RECENT` windows as compact rows (the
rolling state the face rules read), per-section summaries (windows, mean relative valence,
negative share), and session totals (surprise spikes, micro-expressions, mean attention).
Windows where a face was present in less than :data:`MIN_PRESENCE` of the frames are counted as
ignored and nothing else. Across visits only :class:`FaceHistory` survives: the baseline and a
coarse, decaying summary (half-life :data:`HISTORY_HALF_LIFE_DAYS`) — never windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import msgspec

__all__ = [
    "HISTORY_HALF_LIFE_DAYS",
    "MIN_PRESENCE",
    "NEGATIVE",
    "PRIOR_WINDOWS",
    "RECENT",
    "AffectObservation",
    "AffectSession",
    "AffectWindow",
    "Baseline",
    "FaceHistory",
    "SectionAffect",
    "apply_affect",
    "fold_history",
]

#: Windows with a face in fewer frames than this share are ignored.
MIN_PRESENCE: Final = 0.5
#: Windows kept per session for the rules (~1 minute at 5 s each).
RECENT: Final = 12
#: The neutral baseline starts at (0, 0, 0) with the weight of this many windows.
PRIOR_WINDOWS: Final = 2.0
#: At most this many windows' weight in the baseline: it keeps following the visitor.
BASELINE_CAP: Final = 30.0
#: A window whose surprise is this far above the baseline counts as a surprise spike.
SURPRISE_SPIKE: Final = 0.3
#: Across visits, summaries lose half their weight in this many days.
HISTORY_HALF_LIFE_DAYS: Final = 30.0
#: Expressions that count as negative.
NEGATIVE: Final = frozenset({"angry", "disgusted", "fearful", "sad"})


class AffectObservation(msgspec.Struct, frozen=True, kw_only=True):
    """One ``affect`` window as the ingest extracted it (absolute values, as sent)."""

    seconds: float
    presence: float
    attention: float
    dominant: str | None = None
    valence: float | None = None
    arousal: float | None = None
    surprised: float | None = None
    micro: int = 0
    section: str | None = None


class AffectWindow(msgspec.Struct, frozen=True, array_like=True):
    """One kept window (stored as a JSON array to stay small), values relative to baseline."""

    at: float
    """Server receive time (unix seconds)."""
    seconds: float
    section: str
    """The section in view for most of the window, ``""`` when none."""
    valence: float
    arousal: float
    negative: bool
    """The dominant expression was angry, disgusted, fearful or sad."""
    surprise: float
    attention: float
    """Share of the present frames facing the screen."""
    micro: int


class SectionAffect(msgspec.Struct, kw_only=True):
    """How the visitor looked while one section was in view, this session."""

    windows: int = 0
    valence: float = 0.0
    """Mean valence relative to the baseline."""
    negative: float = 0.0
    """Share of windows whose dominant expression was negative."""


class Baseline(msgspec.Struct, kw_only=True):
    """The visitor's resting face: means over neutral-dominant windows, with a neutral prior."""

    weight: float = PRIOR_WINDOWS
    valence: float = 0.0
    arousal: float = 0.0
    surprise: float = 0.0

    def learn(self, valence: float, arousal: float, surprise: float) -> Baseline:
        n = min(self.weight + 1.0, BASELINE_CAP)
        keep = (n - 1.0) / n
        return Baseline(
            weight=n,
            valence=round(self.valence * keep + valence / n, 3),
            arousal=round(self.arousal * keep + arousal / n, 3),
            surprise=round(self.surprise * keep + surprise / n, 3),
        )


class AffectSession(msgspec.Struct, kw_only=True):
    """The rolling affect state of the current session."""

    windows: int = 0
    """Windows used (enough presence)."""
    ignored: int = 0
    """Windows ignored for low presence."""
    seconds: float = 0.0
    valence: float = 0.0
    """Mean relative valence over the used windows."""
    arousal: float = 0.0
    negative: float = 0.0
    """Share of used windows whose dominant expression was negative."""
    attention: float = 0.0
    surprise_spikes: int = 0
    micro: int = 0
    last_at: float = 0.0
    recent: list[AffectWindow] = msgspec.field(default_factory=list)
    sections: dict[str, SectionAffect] = msgspec.field(default_factory=dict)


class FaceHistory(msgspec.Struct, kw_only=True):
    """Across visits: the baseline and a coarse, decaying summary of earlier sessions."""

    baseline: Baseline = msgspec.field(default_factory=Baseline)
    sessions: float = 0.0
    """Sessions with face windows, decayed (half-life ``HISTORY_HALF_LIFE_DAYS``)."""
    valence: float = 0.0
    """Mean relative valence of those sessions (weighted as ``sessions``)."""
    negative: float = 0.0
    updated_at: float = 0.0


def _mean(old: float, n_old: int, value: float) -> float:
    return round((old * n_old + value) / (n_old + 1), 3)


def _surprise(obs: AffectObservation) -> float:
    if obs.surprised is not None:
        return obs.surprised
    return 1.0 if obs.dominant == "surprised" else 0.0


def apply_affect(
    session: AffectSession,
    baseline: Baseline,
    windows: Iterable[AffectObservation],
    at: float,
) -> tuple[AffectSession, Baseline]:
    """A new session state and baseline after ``windows`` arrived at ``at`` (pure)."""
    state = msgspec.structs.replace(
        session,
        recent=list(session.recent),
        sections={k: msgspec.structs.replace(v) for k, v in session.sections.items()},
    )
    for obs in windows:
        if obs.presence < MIN_PRESENCE or obs.valence is None:
            state.ignored += 1
            continue
        arousal = obs.arousal if obs.arousal is not None else 0.0
        surprise = _surprise(obs)
        rel_v = round(obs.valence - baseline.valence, 3)
        rel_a = round(arousal - baseline.arousal, 3)
        rel_s = round(surprise - baseline.surprise, 3)
        if obs.dominant == "neutral":
            baseline = baseline.learn(obs.valence, arousal, surprise)
        negative = obs.dominant in NEGATIVE
        attention = min(1.0, obs.attention / obs.presence) if obs.presence else 0.0
        n = state.windows
        state.valence = _mean(state.valence, n, rel_v)
        state.arousal = _mean(state.arousal, n, rel_a)
        state.negative = _mean(state.negative, n, float(negative))
        state.attention = _mean(state.attention, n, attention)
        state.windows = n + 1
        state.seconds = round(state.seconds + obs.seconds, 1)
        state.surprise_spikes += rel_s >= SURPRISE_SPIKE
        state.micro += obs.micro
        state.last_at = max(state.last_at, at)
        section = obs.section or ""
        state.recent.append(
            AffectWindow(at, obs.seconds, section, rel_v, rel_a, negative, rel_s,
                         round(attention, 2), obs.micro)
        )  # fmt: skip
        del state.recent[:-RECENT]
        if section:
            summary = state.sections.setdefault(section, SectionAffect())
            summary.valence = _mean(summary.valence, summary.windows, rel_v)
            summary.negative = _mean(summary.negative, summary.windows, float(negative))
            summary.windows += 1
    return state, baseline


def fold_history(history: FaceHistory, session: AffectSession, at: float) -> FaceHistory:
    """Fold a finished session into the cross-visit summary (decayed to ``at``)."""
    if not session.windows:
        return history
    days = max(0.0, at - history.updated_at) / 86_400 if history.updated_at else 0.0
    weight = history.sessions * math.pow(0.5, days / HISTORY_HALF_LIFE_DAYS)
    total = weight + 1.0
    return FaceHistory(
        baseline=history.baseline,
        sessions=round(total, 3),
        valence=round((history.valence * weight + session.valence) / total, 3),
        negative=round((history.negative * weight + session.negative) / total, 3),
        updated_at=at,
    )
