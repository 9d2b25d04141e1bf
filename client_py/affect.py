"""Per-frame expression probabilities → smoothed affect → window aggregates (pure Python).

Runs in the worker (Pyodide) and in CPython; no numpy. Input, per camera frame: the 7 class
probabilities of the expression net for the main face (or ``None`` when no face was found) and
a frontalness number in [0, 1] from the detector's keypoints (``models.infer.frontalness``).
Nothing per-frame ever leaves the device: only :class:`WindowAggregate` (one per
``window_ms``, default 5 s) is meant to be sent, through the privacy filter.

What it computes:

* **Smoothed probabilities**: a time-aware exponential moving average, half-life
  ``smooth_half_life_ms`` (300 ms), so a dropped frame or a slower device does not change the
  time constant. Reset after ``reset_after_ms`` without a face (a new face is not averaged with
  an old one).
* **Personal neutral baseline**: the mean of the first ``baseline_frames`` face frames, then a
  slow EMA (half-life ``baseline_half_life_ms``, 30 s), frozen while a brief departure is in
  progress so that the event itself is not absorbed into the baseline. Some faces look "sad" or
  "angry" at rest to the classifier; the baseline makes events relative to *this* person.
* **Micro-expression events**: a non-neutral class whose raw (unsmoothed) probability rises at
  least ``micro_onset`` (0.35) above its baseline and falls back below ``micro_offset`` (0.15)
  above baseline within ``micro_max_ms`` (500 ms). Longer departures are ordinary expressions
  (visible in the smoothed values), not events. Needs a ready baseline.
* **Valence and arousal** from the 7 classes: the probability-weighted mean of per-class
  coordinates on Russell's circumplex (:data:`CIRCUMPLEX`, values in [-1, 1], after
  Russell 1980 and Scherer 2005 placements): happy (+0.8, +0.5), surprised (+0.2, +0.8),
  neutral (0, 0), sad (-0.7, -0.4), angry (-0.6, +0.7), fearful (-0.6, +0.6),
  disgusted (-0.7, +0.3). A coarse proxy: no registry package ships a valence/arousal model.
* **Presence and attention**: present = a face was detected; attentive = present and
  ``frontal >= attention_frontal`` (0.5).
* **Window aggregates**: per window, the share of frames with a face and with attention, the
  mean probabilities, valence and arousal over face frames, the dominant class, and the count of
  micro-expression events by class — rounded to 2 decimals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .records import field, record
from .schema import EXPRESSIONS

__all__ = [
    "CIRCUMPLEX",
    "LABELS",
    "MODEL_ORDER",
    "AffectConfig",
    "AffectTracker",
    "FrameState",
    "MicroExpression",
    "WindowAggregate",
    "affect_signal",
    "arousal",
    "from_model_order",
    "normalise",
    "valence",
]

# Alphabetical, as in `rapport face --json` and the window aggregates (the shared schema's list).
LABELS: tuple[str, ...] = EXPRESSIONS
# The expression net's output order (face-api.js FACE_EXPRESSION_LABELS).
MODEL_ORDER: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgusted",
    "surprised",
)
# label → (valence, arousal)
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "angry": (-0.6, 0.7),
    "disgusted": (-0.7, 0.3),
    "fearful": (-0.6, 0.6),
    "happy": (0.8, 0.5),
    "neutral": (0.0, 0.0),
    "sad": (-0.7, -0.4),
    "surprised": (0.2, 0.8),
}
_EVENT_LABELS = tuple(label for label in LABELS if label != "neutral")

Probs = dict[str, float]


def normalise(probs: Mapping[str, float]) -> Probs:
    """Validate and renormalise 7-class probabilities (negative values count as 0).

    Raises ValueError on unknown or missing labels, non-finite values or an all-zero input.
    """
    if set(probs) != set(LABELS):
        missing = sorted(set(LABELS) - set(probs))
        extra = sorted(set(probs) - set(LABELS))
        raise ValueError(f"expected the 7 labels {LABELS}; missing {missing}, unknown {extra}")
    values: Probs = {}
    for label in LABELS:
        v = float(probs[label])
        if not math.isfinite(v):
            raise ValueError(f"{label}: probability is not finite ({v})")
        values[label] = max(0.0, v)
    total = math.fsum(values.values())
    if total <= 0.0:
        raise ValueError("probabilities sum to 0")
    return {label: v / total for label, v in values.items()}


def from_model_order(values: Sequence[float]) -> Probs:
    """The expression net's output row (MODEL_ORDER) → a label dict."""
    if len(values) != len(MODEL_ORDER):
        raise ValueError(f"expected {len(MODEL_ORDER)} values, got {len(values)}")
    return normalise(dict(zip(MODEL_ORDER, (float(v) for v in values), strict=True)))


def valence(probs: Mapping[str, float]) -> float:
    return math.fsum(probs[label] * CIRCUMPLEX[label][0] for label in LABELS)


def arousal(probs: Mapping[str, float]) -> float:
    return math.fsum(probs[label] * CIRCUMPLEX[label][1] for label in LABELS)


@record(frozen=True)
class AffectConfig:
    smooth_half_life_ms: float = 300.0
    reset_after_ms: float = 2_000.0
    baseline_frames: int = 15
    baseline_half_life_ms: float = 30_000.0
    micro_onset: float = 0.35
    micro_offset: float = 0.15
    micro_max_ms: float = 500.0
    attention_frontal: float = 0.5
    window_ms: float = 5_000.0

    def __post_init__(self) -> None:
        if not 0.0 < self.micro_offset < self.micro_onset <= 1.0:
            raise ValueError("need 0 < micro_offset < micro_onset <= 1")
        positive = (
            self.smooth_half_life_ms,
            self.baseline_half_life_ms,
            self.micro_max_ms,
            self.window_ms,
            self.reset_after_ms,
        )
        if min(positive) <= 0 or self.baseline_frames < 1:
            raise ValueError("half-lives, durations and baseline_frames must be positive")


@record(frozen=True)
class MicroExpression:
    t_ms: float  # onset
    label: str
    peak: float  # highest rise above baseline
    duration_ms: float


@record(frozen=True)
class FrameState:
    t_ms: float
    present: bool
    attentive: bool
    smoothed: Probs | None
    valence: float | None
    arousal: float | None
    baseline_ready: bool
    event: MicroExpression | None = None


@record(frozen=True)
class WindowAggregate:
    """What may leave the device, once per window. Numbers and closed labels only."""

    start_ms: float
    end_ms: float
    frames: int
    presence: float  # share of frames with a face
    attention: float  # share of frames with a frontal face
    emotions: Probs | None  # mean probabilities over face frames (None: no face at all)
    dominant: str | None
    valence: float | None
    arousal: float | None
    micro_expressions: dict[str, int] = field(default_factory=dict)

    def to_signal(self) -> dict[str, object]:
        """This window as an ``affect`` signal of ``client_py.schema`` (flat, bounded numbers)."""
        return affect_signal(self)

    def to_dict(self) -> dict[str, object]:
        return {
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "frames": self.frames,
            "presence": self.presence,
            "attention": self.attention,
            "emotions": dict(self.emotions) if self.emotions is not None else None,
            "dominant": self.dominant,
            "valence": self.valence,
            "arousal": self.arousal,
            "micro_expressions": dict(self.micro_expressions),
        }


@record
class _Candidate:
    label: str
    onset_ms: float
    peak: float


@record
class _Window:
    start_ms: float
    frames: int = 0
    face_frames: int = 0
    attentive_frames: int = 0
    sums: Probs = field(default_factory=lambda: dict.fromkeys(LABELS, 0.0))
    micro: dict[str, int] = field(default_factory=dict)


def _r(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _decay(dt_ms: float, half_life_ms: float) -> float:
    """Weight kept by the old value after dt: 2^(-dt / half-life)."""
    return float(math.pow(0.5, max(dt_ms, 0.0) / half_life_ms))


class AffectTracker:
    """Feed it every analysed frame in time order; collect closed windows with ``pop_windows``."""

    def __init__(self, config: AffectConfig | None = None) -> None:
        self.config = config or AffectConfig()
        self._smoothed: Probs | None = None
        self._last_face_ms: float | None = None
        self._last_ms: float | None = None
        self._baseline: Probs | None = None
        self._baseline_n = 0
        self._candidate: _Candidate | None = None
        self._window: _Window | None = None
        self._closed: list[WindowAggregate] = []

    @property
    def baseline(self) -> Probs | None:
        """The personal baseline, once ``baseline_frames`` face frames were seen."""
        if self._baseline is None or self._baseline_n < self.config.baseline_frames:
            return None
        return dict(self._baseline)

    def update(
        self, t_ms: float, probs: Mapping[str, float] | None, frontal: float = 1.0
    ) -> FrameState:
        """One frame: ``probs`` for the main face (any label order) or None for "no face"."""
        cfg = self.config
        if not math.isfinite(t_ms):
            raise ValueError("t_ms must be finite")
        if self._last_ms is not None and t_ms < self._last_ms:
            raise ValueError(f"frames must come in time order ({t_ms} < {self._last_ms})")
        frontal = min(1.0, max(0.0, float(frontal))) if math.isfinite(frontal) else 0.0
        clean = normalise(probs) if probs is not None else None
        self._roll_windows(t_ms)
        window = self._window
        assert window is not None
        window.frames += 1
        event: MicroExpression | None = None

        if clean is None:
            self._candidate = None  # a face lost mid-departure is not an event
            if self._last_face_ms is not None and t_ms - self._last_face_ms > cfg.reset_after_ms:
                self._smoothed = None
            self._last_ms = t_ms
            return FrameState(t_ms, False, False, None, None, None, self.baseline is not None)

        # smoothing (time-aware EMA), reset after a long absence
        if (
            self._smoothed is None
            or self._last_face_ms is None
            or t_ms - self._last_face_ms > cfg.reset_after_ms
        ):
            self._smoothed = dict(clean)
        else:
            keep = _decay(t_ms - self._last_face_ms, cfg.smooth_half_life_ms)
            self._smoothed = {k: keep * self._smoothed[k] + (1 - keep) * clean[k] for k in LABELS}

        event = self._micro(t_ms, clean)
        self._update_baseline(t_ms, clean)
        self._last_face_ms = t_ms
        self._last_ms = t_ms

        attentive = frontal >= cfg.attention_frontal
        window.face_frames += 1
        window.attentive_frames += attentive
        for k in LABELS:
            window.sums[k] += clean[k]
        if event is not None:
            window.micro[event.label] = window.micro.get(event.label, 0) + 1
        smoothed = dict(self._smoothed)
        return FrameState(
            t_ms,
            True,
            attentive,
            smoothed,
            valence(smoothed),
            arousal(smoothed),
            self.baseline is not None,
            event,
        )

    def _update_baseline(self, t_ms: float, clean: Probs) -> None:
        cfg = self.config
        if self._baseline is None:
            self._baseline = dict(clean)
            self._baseline_n = 1
            return
        if self._baseline_n < cfg.baseline_frames:  # running mean while warming up
            n = self._baseline_n + 1
            self._baseline = {
                k: self._baseline[k] + (clean[k] - self._baseline[k]) / n for k in LABELS
            }
            self._baseline_n = n
            return
        c = self._candidate
        if c is not None and t_ms - c.onset_ms <= cfg.micro_max_ms:
            return  # frozen during a brief departure
        dt = t_ms - (self._last_face_ms if self._last_face_ms is not None else t_ms)
        keep = _decay(dt, cfg.baseline_half_life_ms)
        self._baseline = {k: keep * self._baseline[k] + (1 - keep) * clean[k] for k in LABELS}
        self._baseline_n += 1

    def _micro(self, t_ms: float, clean: Probs) -> MicroExpression | None:
        cfg = self.config
        base = self.baseline
        if base is None:
            return None
        c = self._candidate
        if c is not None:
            rise = clean[c.label] - base[c.label]
            if rise >= cfg.micro_offset:
                c.peak = max(c.peak, rise)
                return None
            self._candidate = None
            duration = t_ms - c.onset_ms
            if duration <= cfg.micro_max_ms:
                return MicroExpression(c.onset_ms, c.label, _r(c.peak), duration)
            return None  # a sustained expression, not a micro-expression
        rises = [(clean[k] - base[k], k) for k in _EVENT_LABELS]
        rise, label = max(rises)
        if rise >= cfg.micro_onset:
            self._candidate = _Candidate(label, t_ms, rise)
        return None

    def _roll_windows(self, t_ms: float) -> None:
        w = self.config.window_ms
        if self._window is None:
            self._window = _Window(start_ms=t_ms)
            return
        if t_ms < self._window.start_ms + w:
            return
        self._close(self._window.start_ms + w)
        # skip empty windows (e.g. the tab was hidden): the next one starts on the grid
        steps = math.floor((t_ms - self._window.start_ms) / w)
        self._window = _Window(start_ms=self._window.start_ms + steps * w)

    def _close(self, end_ms: float) -> None:
        win = self._window
        if win is None or win.frames == 0:
            return
        n_face = win.face_frames
        emotions: Probs | None = None
        dominant: str | None = None
        val: float | None = None
        aro: float | None = None
        if n_face:
            mean = {k: win.sums[k] / n_face for k in LABELS}
            emotions = {k: _r(v) for k, v in mean.items()}
            dominant = max(LABELS, key=lambda k: mean[k])
            val, aro = _r(valence(mean)), _r(arousal(mean))
        self._closed.append(
            WindowAggregate(
                start_ms=win.start_ms,
                end_ms=end_ms,
                frames=win.frames,
                presence=_r(n_face / win.frames),
                attention=_r(win.attentive_frames / win.frames),
                emotions=emotions,
                dominant=dominant,
                valence=val,
                arousal=aro,
                micro_expressions=dict(sorted(win.micro.items())),
            )
        )

    def pop_windows(self) -> list[WindowAggregate]:
        """Windows closed so far (each returned once)."""
        out, self._closed = self._closed, []
        return out

    def flush(self, now_ms: float) -> list[WindowAggregate]:
        """Close the current, partial window (e.g. on pagehide) and return all closed ones."""
        if self._window is not None and self._window.frames:
            self._close(max(now_ms, self._last_ms or now_ms))
            self._window = None
        return self.pop_windows()


def affect_signal(window: WindowAggregate) -> dict[str, object]:
    """A window aggregate as the ``affect`` signal the privacy filter and the server accept."""
    emotions = window.emotions or {}
    micro = window.micro_expressions
    top = max(sorted(micro), key=lambda k: micro[k]) if micro else None
    return {
        "kind": "affect",
        "seconds": _r(min(600.0, max(0.0, (window.end_ms - window.start_ms) / 1000))),
        "frames": window.frames,
        "presence": window.presence,
        "attention": window.attention,
        "dominant": window.dominant,
        "valence": window.valence,
        "arousal": window.arousal,
        **{label: emotions.get(label) for label in LABELS},
        "micro": sum(micro.values()),
        "micro_label": top,
    }
