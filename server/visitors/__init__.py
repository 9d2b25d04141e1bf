"""Visitor rights: see (export) and erase one's own data, authenticated by the visitor secret."""

from rapport.server.visitors.identity import secret_matches, visitor_id_from_secret

__all__ = ["secret_matches", "visitor_id_from_secret"]
