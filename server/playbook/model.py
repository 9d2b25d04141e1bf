"""The playbook: readable rules that turn a profile into hints (data only, no logic)."""

from __future__ import annotations

from typing import Literal

import msgspec

from rapport.server.hints.model import Handoff, Localized, ReplyLength, Source, Tone

__all__ = [
    "FACE_STATES",
    "ChatTemplate",
    "Experiment",
    "FaceCondition",
    "FacePolicy",
    "FeedbackPolicy",
    "Playbook",
    "Rule",
    "WebhookPolicy",
]

When = Literal["pattern", "tone", "topic", "face"]
#: Names of face rules: how the visitor looks (the hint's ``pattern``).
FACE_STATES = ("frustrated", "confused", "upset", "surprised", "engaged", "inattentive")


class ChatTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rule's ``chat`` block; ``{visits}``, ``{purchases}``, ``{orders}``,
    ``{support_contacts}``, ``{name}`` and ``{topics}`` are filled in from the profile."""

    length: ReplyLength = "short"
    tone: Tone = "neutral"
    handoff: Handoff = "none"
    opener: Localized | None = None
    directive: Localized


class FaceCondition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A face rule's ``[rules.face]`` block: thresholds on the session's recent camera windows,
    all **relative to the visitor's own neutral baseline** (``server/profiles/affect.py``).

    The rule looks at the windows received in the last ``within_seconds`` whose section (the one
    in view for most of the window) is one of ``sections`` (any when empty); it needs
    ``min_evidence`` of them, every set threshold met by their mean, and ``min_score`` of them
    meeting the thresholds one by one (the hint's strength is that share)."""

    sections: list[str] = msgspec.field(default_factory=list)
    within_seconds: float = 30.0
    valence_below: float | None = None
    """Mean valence minus the baseline's is at most this (e.g. -0.25)."""
    valence_above: float | None = None
    negative_share_at_least: float | None = None
    """Share of windows whose dominant expression was angry, disgusted, fearful or sad."""
    surprise_at_least: float | None = None
    """Mean probability of ``surprised`` above the baseline's."""
    attention_below: float | None = None
    """Share of present frames facing the screen is at most this."""
    attention_at_least: float | None = None
    micro_at_least: int | None = None
    """Micro-expressions in those windows, in total."""
    counters_at_least: dict[str, int] = msgspec.field(default_factory=dict)
    """Behaviour counters this session, e.g. ``{rage_clicks = 2}``."""


class FacePolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[face]``: one per-site switch for every face rule."""

    enabled: bool = True
    """``false``: no face rule fires for this site (the camera windows are still kept)."""


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule: a condition on the profile and the hint it produces."""

    id: str
    when: When
    """What the rule looks at: a behaviour ``pattern`` score, a chat ``tone`` score, a
    chat ``topic`` count (this session), or the ``face`` (camera windows, see ``face``)."""
    name: str
    """The pattern, tone or topic name (closed vocabularies of ``client_py/schema.py``)."""
    kind: str
    min_score: float
    """Pattern/tone: minimum score in [0, 1]. Topic: minimum message count."""
    min_evidence: int = 1
    """Pattern: distinct evidence features (points ≥ 0.05) this session. Tone: batches that
    reported the tone this session. Topic: messages on the topic."""
    min_seconds: float = 0.0
    """Minimum server-observed session length so far."""
    min_visits: int = 0
    min_purchases: int = 0
    unless_actions: list[str] = msgspec.field(default_factory=list)
    """No hint when one of these actions happened this session."""
    also: list[str] = msgspec.field(default_factory=list)
    """Extra hint kinds emitted with the main one (e.g. ``emphasise:returns``)."""
    source: Source | None = None
    """Default: ``behaviour`` for patterns, ``chat`` for tone/topic, ``history`` when the
    rule needs past visits or purchases."""
    priority: int = 50
    ttl_seconds: float | None = None
    reason: str = ""
    """A human sentence prepended to the generated reasons."""
    chat: ChatTemplate | None = None
    face: FaceCondition | None = None
    """Face rules only: the thresholds on the camera windows."""


class FeedbackPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Back-off after a miss (``ignored`` / ``dismissed`` feedback)."""

    suppress_seconds: float = 30 * 60
    """A missed hint is not shown again for this long."""
    decay: float = 0.5
    """Each miss since the last ``helpful`` multiplies the strength by this."""
    min_strength: float = 0.2
    """Below this decayed strength the hint is dropped."""
    window_seconds: float = 7 * 86_400
    """Misses older than this are forgotten."""


class Experiment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The holdout: this share of visitors (by a hash of site and visitor) gets no hints."""

    holdout: float = 0.10


class WebhookPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When CRM events fire (``[webhooks]``)."""

    hot_lead: float = 0.7
    """``hot_lead`` fires (once per visitor and session) when the conversion probability of
    the site's model (``server/scoring``) reaches this."""


class Playbook(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A site's playbook. A site file is merged over the default: rules with the same id
    replace the default's, ``disable`` removes default rules, other sections replace."""

    version: int = 1
    ttl_seconds: float = 30 * 60
    rules: list[Rule] = msgspec.field(default_factory=list)
    disable: list[str] = msgspec.field(default_factory=list)
    feedback: FeedbackPolicy = msgspec.field(default_factory=FeedbackPolicy)
    experiment: Experiment = msgspec.field(default_factory=Experiment)
    webhooks: WebhookPolicy = msgspec.field(default_factory=WebhookPolicy)
    face: FacePolicy = msgspec.field(default_factory=FacePolicy)
