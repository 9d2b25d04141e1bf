"""Playbooks: readable per-site rules (TOML) that turn visitor profiles into hints."""

from rapport.server.playbook.engine import FeedbackEntry, evaluate, hint_ids
from rapport.server.playbook.load import (
    DEFAULT_PLAYBOOK_PATH,
    PlaybookError,
    default_playbook,
    parse_playbook,
    site_playbook,
)
from rapport.server.playbook.model import Playbook, Rule

__all__ = [
    "DEFAULT_PLAYBOOK_PATH",
    "FeedbackEntry",
    "Playbook",
    "PlaybookError",
    "Rule",
    "default_playbook",
    "evaluate",
    "hint_ids",
    "parse_playbook",
    "site_playbook",
]
