"""The privacy filter: the last step before anything leaves the device.

It is an allow-list built from ``client_py.schema``: a signal passes only when its kind is known,
it has no field the schema does not name, and every value is accepted by that field's rule.
Anything else — a new field someone added in a hurry, a string that could carry free text, a
NaN — is dropped, never "cleaned". The server validates with the same schema and rejects what
this filter would have dropped, so a bug on one side cannot leak through the other.
"""

from __future__ import annotations

import re
from typing import Any

from .identity import VISITOR_KEY_PATTERN
from .schema import ID_PATTERN, SIGNALS, SITE_KEY_PATTERN

__all__ = ["allowed_envelope", "allowed_signal", "filter_signals"]


def allowed_signal(signal: object) -> bool:
    """True only for a signal that the shared schema describes exactly."""
    if not isinstance(signal, dict):
        return False
    kind = signal.get("kind")
    spec = SIGNALS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        return False
    if any(name != "kind" and name not in spec.fields for name in signal):
        return False
    return all(rule.accepts(signal.get(name)) for name, rule in spec.fields.items())


def filter_signals(signals: list[Any]) -> tuple[list[dict[str, Any]], int]:
    """The allowed signals and how many were dropped (batch size is the outbox's concern)."""
    kept = [s for s in signals if allowed_signal(s)]
    return kept, len(signals) - len(kept)


def allowed_envelope(site: str, key: str, session: str, batch: str) -> bool:
    """The batch envelope carries only the public site key, the visitor key (a hash) and
    random ids."""
    return (
        re.fullmatch(SITE_KEY_PATTERN, site) is not None
        and re.fullmatch(VISITOR_KEY_PATTERN, key) is not None
        and all(re.fullmatch(ID_PATTERN, value) is not None for value in (session, batch))
    )
