"""Visitor identity: the visitor id is derived from a secret only the visitor's browser keeps.

The client draws a random *visitor secret* (≥ 128 bits, base64url) and sends
``visitor = visitor_id_from_secret(secret)`` with its batches. To read or erase its data it
presents the secret (``Authorization: Bearer <secret>``); the server recomputes the id and
compares. So the server stores no secret, and knowing an id (it travels with every batch)
is not enough to read or erase that visitor's data.

``client_py`` mirrors :func:`visitor_id_from_secret`; the test vector in
``tests/server/test_visitor_rights.py`` pins both to the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

__all__ = [
    "SECRET_PATTERN",
    "VISITOR_ID_LENGTH",
    "is_valid_secret",
    "secret_matches",
    "visitor_id_from_secret",
]

#: base64url characters; 22 of them carry 132 bits (≥ 128 bits of entropy required).
SECRET_PATTERN: Final = r"^[A-Za-z0-9_-]{22,256}$"
#: 22 base64url characters = 132 bits of the SHA-256.
VISITOR_ID_LENGTH: Final = 22
_SECRET_RE: Final = re.compile(SECRET_PATTERN)


def visitor_id_from_secret(secret: str) -> str:
    """``base64url_nopad(sha256(secret as UTF-8))[:22]``: the visitor id a secret owns."""
    digest = hashlib.sha256(secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:VISITOR_ID_LENGTH]


def is_valid_secret(secret: str) -> bool:
    """Whether ``secret`` has the shape the client generates (base64url, 22–256 chars)."""
    return _SECRET_RE.fullmatch(secret) is not None


def secret_matches(secret: str, visitor_id: str) -> bool:
    """Constant-time check that ``secret`` derives ``visitor_id``."""
    return hmac.compare_digest(visitor_id_from_secret(secret), visitor_id)
