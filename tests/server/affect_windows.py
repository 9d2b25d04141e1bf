"""One camera affect window as the ingest extracts it, for the face profile and rule tests."""

from __future__ import annotations

from rapport.server.profiles.affect import AffectObservation


def window(
    valence: float = -0.42,
    *,
    dominant: str = "angry",
    section: str | None = "price",
    presence: float = 1.0,
    attention: float = 1.0,
    surprised: float | None = None,
    micro: int = 0,
) -> AffectObservation:
    """A 5 s window (absolute values, as the client sends them)."""
    return AffectObservation(
        seconds=5.0, presence=presence, attention=attention, dominant=dominant,
        valence=valence, arousal=0.4, surprised=surprised, micro=micro, section=section,
    )  # fmt: skip
