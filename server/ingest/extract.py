"""From validated signals to what storage keeps: rows and profile observations."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import msgspec

from rapport.server.ingest.schema import kind_of
from rapport.server.profiles import Observations
from rapport.server.profiles.affect import AffectObservation
from rapport.server.profiles.model import PURCHASE_ACTIONS
from rapport.server.report.cells import SECTION_BIT
from rapport.server.storage.base import StoredSignals

__all__ = ["extract_observations", "to_stored_signals"]

_encoder = msgspec.json.Encoder()
_SECTION = operator.attrgetter("section")
_SECTION_EVENT = operator.attrgetter("section", "name")


def to_stored_signals(signals: Sequence[msgspec.Struct]) -> StoredSignals:
    """The batch's signals as one JSON array; each element keeps its ``kind`` tag."""
    return StoredSignals(_encoder.encode(signals).decode("utf-8"), len(signals))


def extract_observations(signals: Iterable[msgspec.Struct]) -> Observations:
    """What the profile keeps of a batch: pattern scores and tone (last one per name wins),
    evidence per pattern, topic and counter values, context, action names and purchase
    values; and, for the report, the reach bits of the sections dwelled on or with a section
    event (:data:`~rapport.server.report.cells.SECTION_BIT`).

    This runs in the request handler, in parallel with other requests; the writer that
    stores the batch is one per process, so what can be read here is not read there."""
    patterns: dict[str, float] = {}
    actions: set[str] = set()
    evidence: dict[str, dict[str, float]] = {}
    tones: dict[str, float] = {}
    topics: dict[str, int] = {}
    counters: dict[str, int] = {}
    context: dict[str, str] = {}
    purchases: list[tuple[float, str]] = []
    affect: list[AffectObservation] = []
    section_bits = 0
    for signal in signals:
        kind = kind_of(signal)
        if kind == "dwell":
            section_bits |= SECTION_BIT.get((_SECTION(signal), "dwell"), 0)
            continue
        if kind == "section_event":
            section_bits |= SECTION_BIT.get(_SECTION_EVENT(signal), 0)
            continue
        if kind not in _KEPT:
            continue
        fields = msgspec.structs.asdict(signal)
        if kind == "pattern":
            patterns[str(fields["name"])] = float(fields["score"])
        elif kind == "action":
            name = str(fields["name"])
            actions.add(name)
            value = fields.get("value")
            if name in PURCHASE_ACTIONS and value is not None:
                purchases.append((float(value), str(fields.get("currency") or "XXX")))
        elif kind == "evidence":
            evidence.setdefault(str(fields["pattern"]), {})[str(fields["feature"])] = float(
                fields["points"]
            )
        elif kind == "tone":
            tones[str(fields["name"])] = float(fields["score"])
        elif kind == "topic":
            topics[str(fields["name"])] = int(fields["count"])
        elif kind == "counter":
            counters[str(fields["name"])] = int(fields["count"])
        elif kind == "context":
            context.update({k: str(v) for k, v in fields.items() if k != "kind"})
        elif kind == "affect":
            affect.append(_affect(fields))
    return Observations(
        patterns=patterns,
        actions=frozenset(actions),
        evidence=evidence,
        tones=tones,
        topics=topics,
        counters=counters,
        context=context,
        purchase_values=tuple(purchases),
        affect=tuple(affect),
        section_bits=section_bits,
    )


def _affect(fields: dict[str, object]) -> AffectObservation:
    """An ``affect`` window's fields the profile uses (the rest stays in the signals table)."""

    def number(name: str) -> float | None:
        value = fields.get(name)
        return float(value) if isinstance(value, int | float) else None

    dominant, section = fields.get("dominant"), fields.get("section")
    return AffectObservation(
        seconds=number("seconds") or 0.0,
        presence=number("presence") or 0.0,
        attention=number("attention") or 0.0,
        dominant=dominant if isinstance(dominant, str) else None,
        valence=number("valence"),
        arousal=number("arousal"),
        surprised=number("surprised"),
        micro=int(number("micro") or 0),
        section=section if isinstance(section, str) else None,
    )


_KEPT = frozenset(
    {"pattern", "action", "evidence", "tone", "topic", "counter", "context", "affect"}
)
