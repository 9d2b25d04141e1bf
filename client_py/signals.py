"""From session features to the derived signals that may be sent, and only when they changed.

Values are rounded (0.1 s of dwell, 0.01 of a score) so that what leaves is coarse by design,
and a signal is re-sent only when it moved enough to matter: a visitor reading a page does not
produce a request per second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from client_py.features import SessionFeatures
from client_py.patterns import PatternScore

__all__ = ["SignalDiffer", "current_signals"]

#: Minimal change for a value to be sent again.
MIN_CHANGE: Final = {"dwell": 1.0, "scroll": 0.1, "clicks": 1.0, "revisit": 1.0, "pattern": 0.02}


def current_signals(
    features: SessionFeatures, patterns: list[PatternScore]
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
    out.append({"kind": "scroll", "depth": round(features.max_scroll, 2)})
    out.append({"kind": "clicks", "count": features.clicks})
    for item, count in sorted(features.revisits().items()):
        out.append({"kind": "revisit", "item": item, "count": count})
    for pattern in patterns:
        out.append({"kind": "pattern", "name": pattern.name, "score": round(pattern.score, 2)})
    for name in features.actions:
        out.append({"kind": "action", "name": name, "value": None, "currency": None})
    return out


def _identity(signal: dict[str, Any]) -> str:
    kind = signal["kind"]
    if kind == "dwell":
        return f"dwell|{signal['section']}|{signal['item'] or ''}"
    if kind == "revisit":
        return f"revisit|{signal['item']}"
    if kind in ("pattern", "action"):
        return f"{kind}|{signal['name']}"
    return str(kind)


def _measure(signal: dict[str, Any]) -> float | None:
    for name in ("seconds", "depth", "count", "score"):
        value = signal.get(name)
        if isinstance(value, int | float):
            return float(value)
    return None


@dataclass
class SignalDiffer:
    """Remembers what was last queued, to send only what changed enough."""

    last: dict[str, float | None] = field(default_factory=dict)

    def changed(self, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for signal in signals:
            identity, value = _identity(signal), _measure(signal)
            if identity in self.last:
                previous = self.last[identity]
                if value is None or previous is None:
                    continue
                if abs(value - previous) < MIN_CHANGE.get(str(signal["kind"]), 0.0):
                    continue
            elif value == 0 and signal["kind"] != "pattern":
                continue  # a zero count or depth says nothing the server doesn't assume
            self.last[identity] = value
            out.append(signal)
        return out
