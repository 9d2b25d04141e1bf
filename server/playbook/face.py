"""Face rules: a rule's ``[rules.face]`` thresholds read against the session's camera windows.

Every number here is relative to the visitor's own neutral baseline (``server/profiles/
affect.py``), so "valence −0.42" means "0.42 less pleasant than this person's resting face".
The reading carries its evidence (face features with value and threshold) and the values a
rule's ``reason`` can quote: ``{seconds}``, ``{section}``, ``{valence}``, ``{negative}``,
``{surprise}``, ``{attention}``, ``{windows}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from rapport.server.hints.model import Evidence
from rapport.server.playbook.model import FaceCondition, Rule
from rapport.server.profiles import Profile
from rapport.server.profiles.affect import AffectWindow

__all__ = ["FaceReading", "read_face", "signed"]

#: How a section reads in a sentence ("while reading the price").
_SECTION_WORDS: Final = {
    "order-status": "the order status",
    "faq": "the FAQ",
    "specs": "the specifications",
    "contacts": "the contact details",
    "delivery": "the delivery terms",
    "returns": "the returns policy",
}


def signed(value: float) -> str:
    """``-0.42`` as ``−0.42`` and ``0.3`` as ``+0.30`` (a person reads the sign)."""
    return f"{'−' if value < 0 else '+'}{abs(value):.2f}"


@dataclass(frozen=True, slots=True)
class FaceReading:
    """What a face rule saw: the share of windows meeting its thresholds (its score), how
    many windows it looked at, when the last arrived, the evidence and the reason's values."""

    score: float
    windows: int
    at: float
    evidence: list[Evidence]
    summary: str
    values: dict[str, str]


def _checks(face: FaceCondition, w: AffectWindow) -> bool:
    """One window meets the per-window thresholds."""
    return (
        (face.valence_below is None or w.valence <= face.valence_below)
        and (face.valence_above is None or w.valence >= face.valence_above)
        and (face.negative_share_at_least is None or w.negative)
        and (face.surprise_at_least is None or w.surprise >= face.surprise_at_least)
        and (face.attention_below is None or w.attention <= face.attention_below)
        and (face.attention_at_least is None or w.attention >= face.attention_at_least)
    )


def read_face(rule: Rule, profile: Profile, now: float) -> FaceReading | None:
    """The face rule's reading, or ``None`` when its thresholds are not met (or no windows)."""
    face = rule.face
    if face is None:
        return None
    cur = profile.current
    windows = [
        w
        for w in cur.affect.recent
        if w.at >= now - face.within_seconds and (not face.sections or w.section in face.sections)
    ]
    if not windows:
        return None
    n = len(windows)
    mean = {  # rounded: a threshold of 0.7 is met by three windows of 0.7
        "valence": round(sum(w.valence for w in windows) / n, 3),
        "negative_share": round(sum(w.negative for w in windows) / n, 3),
        "surprise": round(sum(w.surprise for w in windows) / n, 3),
        "attention": round(sum(w.attention for w in windows) / n, 3),
    }
    micro = sum(w.micro for w in windows)
    # (feature, value, threshold, met?, words)
    tests: list[tuple[str, float, float, bool, str]] = []
    for name, low, high in (
        ("valence", face.valence_above, face.valence_below),
        ("negative_share", face.negative_share_at_least, None),
        ("surprise", face.surprise_at_least, None),
        ("attention", face.attention_at_least, face.attention_below),
    ):
        value = mean[name]
        if low is not None:
            tests.append((name, value, low, value >= low, f"{value:.2f} ≥ {low:.2f}"))
        if high is not None:
            tests.append((name, value, high, value <= high, f"{value:.2f} ≤ {high:.2f}"))
    if face.micro_at_least is not None:
        m = face.micro_at_least
        tests.append(("micro", micro, m, micro >= m, f"{micro} ≥ {m}"))
    for counter, minimum in sorted(face.counters_at_least.items()):
        count = cur.counters.get(counter, 0)
        tests.append(
            (f"counter:{counter}", count, minimum, count >= minimum, f"{count} ≥ {minimum}")
        )
    if not all(met for *_, met, _ in tests):
        return None
    score = sum(_checks(face, w) for w in windows) / n
    seconds = sum(w.seconds for w in windows)
    sections = [w.section for w in windows if w.section]
    section = max(sorted(set(sections)), key=sections.count) if sections else ""
    evidence = [
        Evidence(
            feature=name if name.startswith("counter:") else f"face:{name}",
            value=round(value, 2),
            threshold=threshold,
        )
        for name, value, threshold, _, _ in tests
    ]
    evidence.append(Evidence(feature="face:windows", value=n, threshold=rule.min_evidence))
    relative = "vs own baseline"
    summary = ", ".join(
        f"{name.replace('_', ' ')} {words}"
        + (f" {relative}" if name in ("valence", "surprise") else "")
        for name, _, _, _, words in tests
    )
    values = {
        "seconds": f"{seconds:.0f}",
        "section": _SECTION_WORDS.get(section, f"the {section}") if section else "the page",
        "valence": signed(mean["valence"]),
        "negative": f"{mean['negative_share']:.0%}",
        "surprise": signed(mean["surprise"]),
        "attention": f"{mean['attention']:.0%}",
        "windows": str(n),
    }
    return FaceReading(round(score, 2), n, max(w.at for w in windows), evidence, summary, values)
