"""The playbook: readable rules that turn a profile into hints (data only, no logic)."""

from __future__ import annotations

from typing import Literal

import msgspec

from server.hints.model import Handoff, Localized, ReplyLength, Source, Tone

__all__ = ["ChatTemplate", "Experiment", "FeedbackPolicy", "Playbook", "Rule", "WebhookPolicy"]

When = Literal["pattern", "tone", "topic"]


class ChatTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rule's ``chat`` block; ``{visits}``, ``{purchases}``, ``{orders}``,
    ``{support_contacts}``, ``{name}`` and ``{topics}`` are filled in from the profile."""

    length: ReplyLength = "short"
    tone: Tone = "neutral"
    handoff: Handoff = "none"
    opener: Localized | None = None
    directive: Localized


class Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One rule: a condition on the profile and the hint it produces."""

    id: str
    when: When
    """What the rule looks at: a behaviour ``pattern`` score, a chat ``tone`` score, or a
    chat ``topic`` count (this session)."""
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
