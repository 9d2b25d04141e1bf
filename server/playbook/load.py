"""Reading playbooks from TOML, validating them with errors that name file, rule and field."""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Any, Final

import msgspec

from rapport.client_py.schema import COUNTERS, ITEM_PATTERN, PATTERNS, SECTIONS, TONES, TOPICS
from rapport.server.playbook.model import FACE_STATES, Playbook, Rule

__all__ = [
    "DEFAULT_PLAYBOOK_PATH",
    "PlaybookError",
    "default_playbook",
    "merge_playbooks",
    "parse_playbook",
    "site_playbook",
]

DEFAULT_PLAYBOOK_PATH: Final = Path(__file__).with_name("default.toml")

_RULE_ID: Final = re.compile(r"[a-z][a-z0-9_]*\.[a-z0-9_:.-]+")
_BASE_KINDS: Final = frozenset(
    {"reassure", "simplify", "expand", "offer_help", "hold_back", "escalate_to_human"}
)
_EMPHASIS: Final = frozenset(
    {"price", "returns", "warranty", "delivery", "specs", "reviews", "contacts", "order-status",
     "faq", "cart", *TOPICS}
)  # fmt: skip
_ITEM: Final = re.compile(ITEM_PATTERN)
_NAMES: Final = {
    "pattern": frozenset(PATTERNS),
    "tone": frozenset(TONES),
    "topic": TOPICS,
    "face": FACE_STATES,
}


class PlaybookError(ValueError):
    """A playbook that cannot be used; the message names the file, the rule and the field."""


def check_kind(kind: str) -> str | None:
    """Why ``kind`` is not a valid hint kind (``None`` when it is)."""
    if kind in _BASE_KINDS:
        return None
    prefix, _, rest = kind.partition(":")
    if prefix == "emphasise":
        return None if rest in _EMPHASIS else f"emphasise:<topic> needs one of {sorted(_EMPHASIS)}"
    if prefix == "recommend":
        return None if _ITEM.fullmatch(rest) else "recommend:<item> needs an item key"
    return (
        f"unknown kind {kind!r}: use {sorted(_BASE_KINDS)}, emphasise:<topic> or recommend:<item>"
    )


def _where(source: str, raw: Any, path: str) -> str:
    """``file: rule 'id': field x`` from a msgspec path such as ``$.rules[2].chat.tone``."""
    match = re.match(r"\$\.rules\[(\d+)\]\.?(.*)", path)
    if match:
        index = int(match.group(1))
        rule_id = None
        if isinstance(raw, dict) and isinstance(raw.get("rules"), list):
            rules = raw["rules"]
            if index < len(rules) and isinstance(rules[index], dict):
                rule_id = rules[index].get("id")
        label = f"rule {rule_id!r}" if rule_id else f"rule #{index + 1}"
        field = match.group(2) or "(the rule)"
        return f"{source}: {label}: field {field}"
    return f"{source}: field {path.removeprefix('$.') or '(top level)'}"


def parse_playbook(text: str, source: str = "<playbook>") -> Playbook:
    """Parse and validate one playbook file (not merged with the default)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"{source}: not valid TOML: {exc}") from None
    try:
        playbook = msgspec.convert(raw, Playbook)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in message else "$"
        detail = message.split(" - at `", 1)[0]
        if "unknown field" in detail:
            name = re.search(r"`([^`]+)`", detail)
            path = f"{path}.{name.group(1)}" if name else path
        raise PlaybookError(f"{_where(source, raw, path)}: {detail}") from None
    _check(playbook, raw, source)
    return playbook


def _check(playbook: Playbook, raw: Any, source: str) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(playbook.rules):

        def fail(field: str, message: str, index: int = index) -> PlaybookError:
            return PlaybookError(f"{_where(source, raw, f'$.rules[{index}].{field}')}: {message}")

        if not _RULE_ID.fullmatch(rule.id):
            raise fail("id", "ids look like 'pattern.action' (lower case, one dot at least)")
        if rule.id in seen:
            raise fail("id", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        if rule.name not in _NAMES[rule.when]:
            raise fail("name", f"{rule.when} must be one of {sorted(_NAMES[rule.when])}")
        for field, kind in [("kind", rule.kind)] + [("also", k) for k in rule.also]:
            if problem := check_kind(kind):
                raise fail(field, problem)
        limit = 10_000 if rule.when == "topic" else 1
        if not 0 <= rule.min_score <= limit:
            raise fail("min_score", f"must be between 0 and {limit}")
        if rule.min_evidence < 0 or rule.min_seconds < 0:
            raise fail("min_evidence", "must not be negative")
        if rule.ttl_seconds is not None and rule.ttl_seconds <= 0:
            raise fail("ttl_seconds", "must be positive")
        if (rule.when == "face") != (rule.face is not None):
            raise fail("face", "face rules (when = 'face') and only they need a [rules.face] block")
        if rule.face is not None:
            for section in rule.face.sections:
                if section not in SECTIONS:
                    raise fail("face.sections", f"{section!r} is not one of {list(SECTIONS)}")
            for counter in rule.face.counters_at_least:
                if counter not in COUNTERS:
                    raise fail("face.counters_at_least", f"{counter!r} is not one of {COUNTERS}")
    if not 0 <= playbook.experiment.holdout <= 0.5:
        raise PlaybookError(f"{source}: field experiment.holdout: must be between 0 and 0.5")
    if not 0 < playbook.webhooks.hot_lead <= 1:
        raise PlaybookError(f"{source}: field webhooks.hot_lead: must be in (0, 1]")
    fb = playbook.feedback
    if not 0 <= fb.decay <= 1 or fb.suppress_seconds < 0 or not 0 <= fb.min_strength <= 1:
        raise PlaybookError(
            f"{source}: field feedback: decay and min_strength in [0, 1], suppress_seconds ≥ 0"
        )


def merge_playbooks(base: Playbook, site: Playbook, raw_sections: set[str]) -> Playbook:
    """The site's playbook over ``base`` (see :class:`Playbook`)."""
    by_id: dict[str, Rule] = {rule.id: rule for rule in base.rules}
    for rule_id in site.disable:
        by_id.pop(rule_id, None)
    for rule in site.rules:
        by_id[rule.id] = rule
    return Playbook(
        version=site.version,
        ttl_seconds=site.ttl_seconds if "ttl_seconds" in raw_sections else base.ttl_seconds,
        rules=list(by_id.values()),
        disable=list(site.disable),
        feedback=site.feedback if "feedback" in raw_sections else base.feedback,
        experiment=site.experiment if "experiment" in raw_sections else base.experiment,
        webhooks=site.webhooks if "webhooks" in raw_sections else base.webhooks,
        face=site.face if "face" in raw_sections else base.face,
    )


@functools.cache
def default_playbook() -> Playbook:
    """The playbook shipped in the repository (``server/playbook/default.toml``)."""
    return parse_playbook(DEFAULT_PLAYBOOK_PATH.read_text("utf-8"), str(DEFAULT_PLAYBOOK_PATH))


def site_playbook(text: str | None, source: str = "<site playbook>") -> Playbook:
    """The effective playbook of a site whose own file is ``text`` (``None``: default)."""
    if not text:
        return default_playbook()
    site = parse_playbook(text, source)
    sections = set(tomllib.loads(text))
    return merge_playbooks(default_playbook(), site, sections)
