"""The visitor id is derived from a secret that only the visitor's browser keeps.

The loader draws a random secret (128 bits, base64url) and keeps it first-party in the host
page's localStorage; batches carry only ``visitor_id_from_secret(secret)``. To see, export or
erase their data, visitors present the secret itself, and the server recomputes the id (it
imports this very function), so it stores no secret and an id seen in transit reads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

__all__ = ["SECRET_PATTERN", "VISITOR_ID_LENGTH", "is_valid_secret", "visitor_id_from_secret"]

#: base64url characters; 22 of them carry 132 bits (≥ 128 bits of entropy required).
SECRET_PATTERN: Final = r"^[A-Za-z0-9_-]{22,256}$"
#: 22 base64url characters = 132 bits of the SHA-256.
VISITOR_ID_LENGTH: Final = 22


def visitor_id_from_secret(secret: str) -> str:
    """``base64url_nopad(sha256(secret as UTF-8))[:22]``: the visitor id a secret owns."""
    digest = hashlib.sha256(secret.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:VISITOR_ID_LENGTH]


def is_valid_secret(secret: str) -> bool:
    """Whether ``secret`` has the shape the loader generates (base64url, 22–256 chars)."""
    return re.fullmatch(SECRET_PATTERN, secret) is not None
