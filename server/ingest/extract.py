"""From validated signals to what storage keeps: rows and profile observations."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from server.ingest.schema import kind_of
from server.profiles import Observations
from server.storage.base import StoredSignal

__all__ = ["extract_observations", "to_stored_signals"]

_encoder = msgspec.json.Encoder()


def to_stored_signals(signals: Iterable[msgspec.Struct]) -> list[StoredSignal]:
    """Each signal as ``(kind, JSON text)``; the JSON keeps the ``kind`` tag."""
    return [StoredSignal(kind=kind_of(s), body=_encoder.encode(s).decode("utf-8")) for s in signals]


def extract_observations(signals: Iterable[msgspec.Struct]) -> Observations:
    """Pattern scores (last one per name wins) and action names in a batch."""
    patterns: dict[str, float] = {}
    actions: set[str] = set()
    for signal in signals:
        kind = kind_of(signal)
        if kind == "pattern":
            fields = msgspec.structs.asdict(signal)
            patterns[str(fields["name"])] = float(fields["score"])
        elif kind == "action":
            actions.add(str(msgspec.structs.asdict(signal)["name"]))
    return Observations(patterns=patterns, actions=frozenset(actions))
