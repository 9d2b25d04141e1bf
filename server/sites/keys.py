"""Generation and hashing of site keys and admin tokens.

The site key (``pk_…``) is public: it sits in the host page's ``data-site`` attribute. The
admin token (``sk_…``) is a secret shown once; we keep only its SHA-256, which is enough
because the token is 192 random bits (no need for a slow password hash).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from rapport.client_py.schema import SITE_KEY_PATTERN

__all__ = ["admin_token_matches", "hash_admin_token", "new_admin_token", "new_site_key"]

_SITE_KEY_RE = re.compile(SITE_KEY_PATTERN)


def new_site_key() -> str:
    """A public site key; it always matches the shared schema's ``SITE_KEY_PATTERN``."""
    key = "pk_" + secrets.token_urlsafe(16)
    assert _SITE_KEY_RE.fullmatch(key), key
    return key


def new_admin_token() -> str:
    """A secret admin token (192 bits of entropy)."""
    return "sk_" + secrets.token_urlsafe(24)


def hash_admin_token(token: str) -> str:
    """The stored form of an admin token: lower-case SHA-256 hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def admin_token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_admin_token(token), stored_hash)
