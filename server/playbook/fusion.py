"""Fusing face-sourced hints with behaviour, chat and history hints, and saying why.

The face is one witness among several. When it and another source point the same way, both
hints get stronger and their reasons say who agreed. When they point opposite ways — the face
says "leave this happy visitor alone" (``hold_back``) while behaviour or chat says "help" (or
the reverse) — one hint is dropped and the survivor's reasons say which signal won and why:

* what the visitor **typed** (``chat``) always outranks the face: words are deliberate, a
  frown may be about something else entirely;
* against behaviour or history the **stronger** hint wins; on a tie the non-face hint does
  (it rests on the whole session, the face on the last half minute).
"""

from __future__ import annotations

from typing import Final

import msgspec

from rapport.server.hints.model import Evidence, Hint

__all__ = ["AGREE_BOOST", "fuse"]

#: Agreement raises strength s to s + AGREE_BOOST × (1 − s) × (the other hint's strength).
AGREE_BOOST: Final = 0.5
#: Kinds that mean "step in and help" (vs ``hold_back``: "do not interrupt").
_HELP: Final = frozenset({"reassure", "offer_help", "escalate_to_human", "simplify"})
_SUPPORT: Final = frozenset({"reassure", "offer_help", "escalate_to_human"})


def _kinds(hint: Hint) -> set[str]:
    return {hint.kind, *hint.also}


def _agree(face: Hint, other: Hint) -> bool:
    if face.kind in _kinds(other) or other.kind in _kinds(face):
        return True
    return face.kind in _SUPPORT and other.kind in _SUPPORT


def _conflict(face: Hint, other: Hint) -> bool:
    return (face.kind == "hold_back" and other.kind in _HELP) or (
        face.kind in _HELP and other.kind == "hold_back"
    )


def _why(hint: Hint) -> str:
    return hint.reasons[0] if hint.reasons else hint.rule


def _boost(hint: Hint, by: Hint) -> Hint:
    strength = round(min(1.0, hint.strength + AGREE_BOOST * (1 - hint.strength) * by.strength), 2)
    who = "the face" if by.source == "face" else f"{by.source}"
    return msgspec.structs.replace(
        hint,
        strength=strength,
        reasons=[
            *hint.reasons[:-1],
            f"{who} agrees ({_why(by)}; rule {by.rule}): strength {hint.strength:.2f} → "
            f"{strength:.2f}",
            *hint.reasons[-1:],
        ],
        evidence=[*hint.evidence, Evidence(feature=f"agrees:{by.rule}", value=by.strength)],
    )


def _won(winner: Hint, loser: Hint, why: str) -> Hint:
    return msgspec.structs.replace(
        winner,
        reasons=[
            *winner.reasons[:-1],
            f"{loser.source} suggested {loser.kind} instead ({_why(loser)}; rule {loser.rule}); "
            f"{winner.source} won: {why}",
            *winner.reasons[-1:],
        ],
        evidence=[
            *winner.evidence,
            Evidence(feature=f"overrode:{loser.rule}", value=loser.strength),
        ],
    )


def fuse(hints: list[Hint]) -> list[Hint]:
    """``hints`` with face hints fused into the others (order kept, losers dropped)."""
    faces = [h for h in hints if h.source == "face"]
    if not faces:
        return hints
    out = {h.rule: h for h in hints}
    for face in faces:
        for other in hints:
            if other.source == "face" or face.rule not in out or other.rule not in out:
                continue
            f, o = out[face.rule], out[other.rule]
            if _agree(face, other):
                out[face.rule], out[other.rule] = _boost(f, by=other), _boost(o, by=face)
            elif _conflict(face, other):
                if other.source == "chat":
                    why = "what the visitor typed outranks the face"
                    out[other.rule] = _won(o, f, why)
                    del out[face.rule]
                elif f.strength > o.strength:
                    why = f"the stronger signal ({f.strength:.2f} vs {o.strength:.2f})"
                    out[face.rule] = _won(f, o, why)
                    del out[other.rule]
                else:
                    why = (
                        f"the stronger signal ({o.strength:.2f} vs {f.strength:.2f})"
                        if o.strength > f.strength
                        else "equal strength, and it rests on the whole session"
                    )
                    out[other.rule] = _won(o, f, why)
                    del out[face.rule]
    return [out[h.rule] for h in hints if h.rule in out]
