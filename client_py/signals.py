"""From session features to the derived signals that may be sent, and only when they changed.

Values are rounded (0.1 s of dwell, 0.01 of a score) so that what leaves is coarse by design,
and a signal is re-sent only when it moved enough to matter: a visitor reading a page does not
produce a request per second. Evidence is the exception that keeps hint reasons true: whenever a
pattern's score is sent, every piece of its evidence that changed at all goes with it, and a
piece crossing the server's counting boundary (0.05 points) always goes — so the reasons the
server quotes are those of the score it holds.
"""

from __future__ import annotations

from typing import Any, Final

from .features import SessionFeatures
from .patterns import PatternScore
from .records import field, record
from .schema import COUNTERS, EVIDENCE_FEATURES
from .tone import ToneSession

__all__ = ["HINT_THRESHOLDS", "SignalDiffer", "current_signals", "hint_relevant"]

#: Minimal change for a value to be sent again.
MIN_CHANGE: Final = {
    "dwell": 1.0,
    "scroll": 0.1,
    "clicks": 1.0,
    "revisit": 1.0,
    "pattern": 0.02,
    "evidence": 0.05,
    "counter": 1.0,
    "section_event": 1.0,
    "tone": 0.05,
    "topic": 1.0,
}

#: Scores where the default playbook's rules start (patterns 0.55 and 0.60, chat tones 0.60):
#: a pattern or tone crossing one of them (either way) may make or unmake a hint.
HINT_THRESHOLDS: Final = (0.55, 0.6)
#: A pattern or tone score that moves this much in one step is news whatever the thresholds
#: (a site's own playbook may use others).
HINT_JUMP: Final = 0.2
#: Distinct evidence features a default pattern rule needs.
HINT_EVIDENCE: Final = 2
_EVIDENCE_POINTS: Final = 0.05


def hint_relevant(before: dict[str, float | None], changed: list[dict[str, Any]]) -> bool:
    """Whether the signals about to be queued may change the visitor's hints.

    ``before`` is what was queued so far (:attr:`SignalDiffer.last` before this change) and
    ``changed`` what the differ lets through now: a pattern or tone score crossing one of
    :data:`HINT_THRESHOLDS` or moving by :data:`HINT_JUMP`, or a pattern scoring ≥ the lowest
    threshold reaching :data:`HINT_EVIDENCE` evidence features. Slow drifts (dwell growing
    while the visitor reads) are not: they go at the outbox's normal pace.
    """
    after = dict(before)
    for signal in changed:
        after[_identity(signal)] = _measure(signal)
    for signal in changed:
        kind = signal["kind"]
        if kind in ("pattern", "tone"):
            new, old = float(signal["score"]), before.get(_identity(signal)) or 0.0
            if abs(new - old) >= HINT_JUMP or any((old < t) != (new < t) for t in HINT_THRESHOLDS):
                return True
        elif kind == "evidence" and (before.get(_identity(signal)) or 0.0) < _EVIDENCE_POINTS:
            pattern = signal["pattern"]
            prefix = f"evidence|{pattern}|"
            count = sum(
                1 for k, v in after.items() if k.startswith(prefix) and (v or 0) >= _EVIDENCE_POINTS
            )
            score = after.get(f"pattern|{pattern}") or 0.0
            if count == HINT_EVIDENCE and score >= min(HINT_THRESHOLDS):
                return True
    return False


def current_signals(
    features: SessionFeatures, patterns: list[PatternScore], tone: ToneSession | None = None
) -> list[dict[str, Any]]:
    """Every signal the session could send right now, in schema form."""
    out: list[dict[str, Any]] = []
    for key, ms in sorted(features.dwell_ms.items()):
        section, item = key.split("|", 1)
        out.append(
            {
                "kind": "dwell",
                "section": section,
                "item": item or None,
                "seconds": round(ms / 1000, 1),
            }
        )
    out.append(
        {
            "kind": "scroll",
            "depth": round(features.max_scroll, 2),
            "speed": round(features.max_scroll_speed, 1),
        }
    )
    out.append({"kind": "clicks", "count": features.clicks})
    for item, count in sorted(features.revisits().items()):
        out.append({"kind": "revisit", "item": item, "count": count})
    for pattern in patterns:
        out.append({"kind": "pattern", "name": pattern.name, "score": round(pattern.score, 2)})
        for c in pattern.evidence:
            points = round(min(c.points, 1.0), 2)
            if points > 0 and c.feature in EVIDENCE_FEATURES:
                out.append(
                    {
                        "kind": "evidence",
                        "pattern": pattern.name,
                        "feature": c.feature,
                        "points": points,
                    }
                )
    for name in COUNTERS:
        count = features.counters.get(name, 0)
        out.append({"kind": "counter", "name": name, "count": count})
    for name, per_section in (("copy", features.copies), ("hover_without_click", features.hovers)):
        for section, count in sorted(per_section.items()):
            out.append({"kind": "section_event", "name": name, "section": section, "count": count})
    context = features.context
    if len(context) == 4:
        out.append(
            {"kind": "context", **{k: context[k] for k in ("daypart", "week", "device", "source")}}
        )
    if tone is not None:
        for name, score in sorted(tone.scores.items()):
            out.append({"kind": "tone", "name": name, "score": round(score, 2)})
        for name, count in sorted(tone.topics.items()):
            out.append({"kind": "topic", "name": name, "count": count})
    for name in features.actions:
        # The value the site passed to rapport.track (its first valued call of this action in
        # the session): it feeds the profile's revenue, the lead score and uplift.
        value, currency = features.action_values.get(name, (None, None))
        out.append({"kind": "action", "name": name, "value": value, "currency": currency})
    return out


def _identity(signal: dict[str, Any]) -> str:
    kind = signal["kind"]
    if kind == "dwell":
        return f"dwell|{signal['section']}|{signal['item'] or ''}"
    if kind == "revisit":
        return f"revisit|{signal['item']}"
    if kind in ("pattern", "action", "counter", "tone", "topic"):
        return f"{kind}|{signal['name']}"
    if kind == "evidence":
        return f"evidence|{signal['pattern']}|{signal['feature']}"
    if kind == "section_event":
        return f"section_event|{signal['name']}|{signal['section']}"
    if kind == "context":
        return "context|" + "|".join(
            str(signal[k]) for k in ("daypart", "week", "device", "source")
        )
    return str(kind)


def _measure(signal: dict[str, Any]) -> float | None:
    for name in ("seconds", "depth", "count", "score", "points"):
        value = signal.get(name)
        if isinstance(value, int | float):
            return float(value)
    return None


@record
class SignalDiffer:
    """Remembers what was last queued, to send only what changed enough."""

    last: dict[str, float | None] = field(default_factory=dict)

    def changed(self, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The signals that moved enough since last queued (a pattern comes before its
        evidence in ``signals``, as :func:`current_signals` orders them)."""
        out = []
        patterns_sent: set[str] = set()
        for signal in signals:
            identity, value = _identity(signal), _measure(signal)
            kind = str(signal["kind"])
            if identity in self.last:
                previous = self.last[identity]
                if value is None or previous is None:
                    continue
                least = MIN_CHANGE.get(kind, 0.0)
                if kind == "evidence" and (
                    signal["pattern"] in patterns_sent
                    or (previous < _EVIDENCE_POINTS) != (value < _EVIDENCE_POINTS)
                ):
                    least = 0.01  # the score it explains is news: any change goes with it
                if abs(value - previous) < least - 1e-9:
                    continue
            elif value == 0 and signal["kind"] not in ("pattern", "tone"):
                continue  # a zero count or depth says nothing the server doesn't assume
            self.last[identity] = value
            out.append(signal)
            if kind == "pattern":
                patterns_sent.add(str(signal["name"]))
        return out
