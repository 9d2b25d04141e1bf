"""Visitor identity: the visitor id is derived from a secret only the visitor's browser keeps.

The client draws a random *visitor secret* (≥ 128 bits, base64url) and sends
``visitor = visitor_id_from_secret(secret)`` with its batches. To read or erase its data it
presents the secret (``Authorization: Bearer <secret>``); the server recomputes the id and
compares. So the server stores no secret, and knowing an id (it travels with every batch)
is not enough to read or erase that visitor's data.

The derivation itself lives in ``client_py.identity`` (like the signal schema): one function
for both sides, pinned by the test vector in ``tests/client_py/test_identity.py``.
"""

from __future__ import annotations

import hmac

from rapport.client_py.identity import (
    SECRET_PATTERN,
    VISITOR_ID_LENGTH,
    is_valid_secret,
    visitor_id_from_secret,
)

__all__ = [
    "SECRET_PATTERN",
    "VISITOR_ID_LENGTH",
    "is_valid_secret",
    "secret_matches",
    "visitor_id_from_secret",
]


def secret_matches(secret: str, visitor_id: str) -> bool:
    """Constant-time check that ``secret`` derives ``visitor_id``."""
    return hmac.compare_digest(visitor_id_from_secret(secret), visitor_id)
