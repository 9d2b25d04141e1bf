"""The rules engine: profile + playbook + feedback → hints, each with its evidence chain.

Pure (no I/O) so it is tested on its own and shared by every endpoint.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from rapport.server.hints.model import ChatBlock, Evidence, Hint, Localized, Source
from rapport.server.playbook.face import FaceReading, read_face
from rapport.server.playbook.fusion import fuse
from rapport.server.playbook.model import FeedbackPolicy, Playbook, Rule
from rapport.server.profiles import Profile

__all__ = ["MISSES", "FeedbackEntry", "evaluate", "hint_ids", "rule_source"]

#: Feedback outcomes that count as a miss.
MISSES: Final = frozenset({"ignored", "dismissed"})
#: An evidence feature counts when it contributed at least this many points.
MIN_POINTS: Final = 0.05


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One ``POST /v1/feedback`` as stored."""

    hint_id: str
    outcome: str
    at: float


def hint_ids(rule: Rule) -> list[str]:
    """The ids of the hints ``rule`` emits (one: the rule id; its ``also`` kinds ride along)."""
    return [rule.id]


def _misses(
    rule: Rule, feedback: Iterable[FeedbackEntry], policy: FeedbackPolicy, now: float
) -> tuple[int, float]:
    """Misses since the last ``helpful`` (within the window), and the latest miss time."""
    ids = set(hint_ids(rule))
    count, last = 0, 0.0
    for entry in sorted(feedback, key=lambda e: e.at):
        if entry.hint_id not in ids or entry.at < now - policy.window_seconds:
            continue
        if entry.outcome == "helpful":
            count, last = 0, 0.0
        elif entry.outcome in MISSES:
            count, last = count + 1, entry.at
    return count, last


class _Template(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: Localized, values: _Template) -> Localized:
    return Localized(en=text.en.format_map(values), ru=text.ru.format_map(values))


def _observe(rule: Rule, profile: Profile) -> tuple[float, int, float, list[Evidence]] | None:
    """(value, evidence count, observed at, evidence chain) or ``None`` if unobserved."""
    cur = profile.current
    if rule.when == "pattern":
        score = profile.patterns.get(rule.name)
        if score is None or score.session != cur.id:
            return None
        features = {f: p for f, p in cur.evidence.get(rule.name, {}).items() if p >= MIN_POINTS}
        chain = [
            Evidence(feature=f"score:{rule.name}", value=score.score, threshold=rule.min_score)
        ]
        chain += [
            Evidence(feature=f"evidence:{f}", value=round(p, 2))
            for f, p in sorted(features.items(), key=lambda kv: -kv[1])
        ]
        return score.score, len(features), score.at, chain
    if rule.when == "tone":
        if rule.name not in cur.tones:
            return None
        value = cur.tones[rule.name]
        reports = cur.reports.get(f"tone:{rule.name}", 1)
        chain = [Evidence(feature=f"tone:{rule.name}", value=value, threshold=rule.min_score)]
        return value, reports, cur.last_at, chain
    count = cur.topics.get(rule.name, 0)
    if not count:
        return None
    chain = [Evidence(feature=f"topic:{rule.name}", value=count, threshold=rule.min_score)]
    return float(count), count, cur.last_at, chain


def rule_source(rule: Rule) -> Source:
    """Which evidence a rule's hints come from (``source`` in the hint)."""
    if rule.source is not None:
        return rule.source
    if rule.when == "face":
        return "face"
    if rule.min_visits > 1 or rule.min_purchases > 0:
        return "history"
    return "behaviour" if rule.when == "pattern" else "chat"


def _fire(
    rule: Rule, profile: Profile, playbook: Playbook, feedback: Sequence[FeedbackEntry], now: float
) -> list[Hint]:
    reading: FaceReading | None = None
    if rule.when == "face":
        reading = read_face(rule, profile, now) if playbook.face.enabled else None
        if reading is None:
            return []
        observed: tuple[float, int, float, list[Evidence]] | None = (
            reading.score, reading.windows, reading.at, reading.evidence
        )  # fmt: skip
    else:
        observed = _observe(rule, profile)
    if observed is None:
        return []
    value, evidence_count, at, chain = observed
    cur = profile.current
    if value < rule.min_score or evidence_count < rule.min_evidence:
        return []
    if cur.seconds < rule.min_seconds:
        return []
    if profile.visits < rule.min_visits or profile.purchases < rule.min_purchases:
        return []
    done = profile.session_actions(cur.id) & set(rule.unless_actions)
    if done:
        return []
    ttl = rule.ttl_seconds if rule.ttl_seconds is not None else playbook.ttl_seconds
    expires_at = int(at + ttl)
    if expires_at <= now:
        return []
    policy = playbook.feedback
    misses, last_miss = _misses(rule, feedback, policy, now)
    if misses and now < last_miss + policy.suppress_seconds:
        return []
    strength = round(min(1.0, value if rule.when != "topic" else 1.0) * policy.decay**misses, 2)
    if misses and strength < policy.min_strength:
        return []

    unit = {"pattern": "evidence features", "tone": "tone reports"}.get(rule.when, "windows")
    measure = "score" if rule.when != "topic" else "messages"
    shown = (
        f"{value:.2f} ≥ {rule.min_score:.2f}"
        if rule.when != "topic"
        else f"{value:g} ≥ {rule.min_score:g}"
    )
    reasons = [
        f"{rule.name} {measure} {shown}"
        + (f", {evidence_count} {unit} ≥ {rule.min_evidence}" if rule.when != "topic" else "")
        + (f", no {'/'.join(rule.unless_actions)} this session" if rule.unless_actions else "")
    ]
    if reading is not None:
        reasons = [
            f"face: {reading.summary}; {evidence_count} windows ({reading.values['seconds']} s) "
            f"≥ {rule.min_evidence}, {value:.0%} of them each past the thresholds ≥ "
            f"{rule.min_score:.0%}"
        ]
    if rule.reason:
        reasons.insert(
            0, rule.reason.format_map(_Template(reading.values)) if reading else rule.reason
        )
    if rule.min_seconds:
        chain.append(
            Evidence(
                feature="session_seconds", value=round(cur.seconds), threshold=rule.min_seconds
            )
        )
        reasons.append(f"session {cur.seconds:.0f} s ≥ {rule.min_seconds:g} s")
    if rule.min_visits or rule.min_purchases:
        chain.append(
            Evidence(feature="profile:visits", value=profile.visits, threshold=rule.min_visits)
        )
        chain.append(
            Evidence(
                feature="profile:purchases", value=profile.purchases, threshold=rule.min_purchases
            )
        )
    if misses:
        chain.append(Evidence(feature="feedback:misses", value=misses))
        reasons.append(f"strength × {policy.decay:g}^{misses} after {misses} missed showing(s)")
    reasons.append(f"rule {rule.id}")

    chat = None
    if rule.chat is not None:
        values = _Template(
            visits=str(profile.visits),
            purchases=str(profile.purchases),
            orders=str(profile.purchases),
            support_contacts=str(profile.support_contacts),
            name=rule.name,
            topics=", ".join(sorted(cur.topics)) or "-",
        )
        chat = ChatBlock(
            length=rule.chat.length,
            tone=rule.chat.tone,
            handoff=rule.chat.handoff,
            opener=_fill(rule.chat.opener, values) if rule.chat.opener else None,
            directive=_fill(rule.chat.directive, values),
        )
    source = rule_source(rule)
    main = Hint(
        id=rule.id,
        kind=rule.kind,
        pattern=rule.name,
        strength=strength,
        source=source,
        reasons=reasons,
        expires_at=expires_at,
        rule=rule.id,
        evidence=chain,
        chat=chat,
        also=list(rule.also),
    )
    return [main]


def evaluate(
    profile: Profile,
    playbook: Playbook,
    *,
    now: float,
    feedback: Sequence[FeedbackEntry] = (),
) -> list[Hint]:
    """The hints that apply to ``profile`` at ``now``, strongest rule first.

    Each rule needs its minimum score *and* its minimum evidence (and session length,
    visits, purchases when set); a rule whose hint was missed recently is suppressed, and
    its strength decays with every miss since the last ``helpful``. Face-sourced hints are
    then fused with the others (``fusion.py``): agreement strengthens, conflicts are settled
    and explained.
    """
    hints: list[Hint] = []
    for rule in sorted(_rules_with_evidence(profile, playbook), key=_priority_order):
        hints += _fire(rule, profile, playbook, feedback, now)
    return fuse(hints)


def _rules_with_evidence(profile: Profile, playbook: Playbook) -> list[Rule]:
    """The rules for which ``profile`` holds something to read: their pattern, tone or topic,
    or camera windows for a face rule.

    Any other rule would find nothing (``_observe``, ``read_face``) and give no hint, so
    :func:`evaluate` does not try it. Every collect evaluates the playbook, and most visitors
    have a few behaviour patterns, no chat and no camera: the 20 default rules cost 8.1 µs to
    try one by one for an empty profile, 2.6 of it to order them (0.6 µs now).
    """
    cur = profile.current
    face = playbook.face.enabled and bool(cur.affect.recent)
    if not (face or profile.patterns or cur.tones or cur.topics):
        return []
    names: dict[str, Container[str]] = {
        "pattern": profile.patterns,
        "tone": cur.tones,
        "topic": cur.topics,
    }
    return [r for r in playbook.rules if (face if r.when == "face" else r.name in names[r.when])]


def _priority_order(rule: Rule) -> tuple[int, str]:
    """Strongest rule first; ties by id, so the order never depends on the file's."""
    return -rule.priority, rule.id
