"""Who the visitor is, in three layers derived from a secret only the visitor's browser keeps.

* **secret** — 128 random bits (base64url) the loader keeps first-party in the host page's
  ``localStorage``. It never leaves the page's main thread except to exercise the visitor's
  rights (``GET``/``DELETE /v1/visitors/{id}``: see, export, erase).
* **key** — ``visitor_key_from_secret(secret)``: a domain-separated hash of the secret. The
  worker holds the key (never the secret) and every request that reads history or changes
  the profile carries it: collect and feedback in their body (``text/plain``, no
  preflight, ``sendBeacon`` works), ``GET /v1/hints/{id}`` as ``Authorization: Bearer``.
  It cannot be turned back into the secret, so it opens no rights.
* **id** — ``visitor_id_from_key(key)``: what the server stores and what reports, webhooks
  and the outcomes API name. The server derives it from the key (it imports this module);
  an id seen in a webhook, a log or an export is not the key, so it neither reads that
  visitor's hints nor steers their profile.

Every derivation is one function here, for both sides, pinned by the test vectors in
``tests/client_py/test_identity.py`` (the loader reproduces them with WebCrypto).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "KEY_CONTEXT",
    "SECRET_PATTERN",
    "VISITOR_ID_LENGTH",
    "VISITOR_KEY_PATTERN",
    "is_valid_key",
    "is_valid_secret",
    "visitor_id_from_key",
    "visitor_id_from_secret",
    "visitor_key_from_secret",
]

#: base64url characters; 22 of them carry 132 bits (≥ 128 bits of entropy required).
SECRET_PATTERN: Final = r"^[A-Za-z0-9_-]{22,256}$"
#: A whole SHA-256 in base64url without padding.
VISITOR_KEY_PATTERN: Final = r"^[A-Za-z0-9_-]{43}$"
#: 22 base64url characters = 132 bits of the SHA-256.
VISITOR_ID_LENGTH: Final = 22
#: Domain separation: the key is a hash of the secret made for this purpose only.
KEY_CONTEXT: Final = "rapport/visitor-key/v1:"


def _sha256_b64(text: str) -> str:
    # Imported here: the worker imports this module for its patterns only (the loader
    # derives the key), so hashlib stays out of the trimmed Pyodide stdlib.
    import base64
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def visitor_key_from_secret(secret: str) -> str:
    """``base64url_nopad(sha256(KEY_CONTEXT + secret))``: the proof the worker holds."""
    return _sha256_b64(KEY_CONTEXT + secret)


def visitor_id_from_key(key: str) -> str:
    """``base64url_nopad(sha256(key))[:22]``: the visitor id a key proves."""
    return _sha256_b64(key)[:VISITOR_ID_LENGTH]


def visitor_id_from_secret(secret: str) -> str:
    """The visitor id a secret owns (through its key)."""
    return visitor_id_from_key(visitor_key_from_secret(secret))


def is_valid_secret(secret: str) -> bool:
    """Whether ``secret`` has the shape the loader generates (base64url, 22–256 chars)."""
    return re.fullmatch(SECRET_PATTERN, secret) is not None


def is_valid_key(key: str) -> bool:
    """Whether ``key`` has the shape of a visitor key (43 base64url characters)."""
    return re.fullmatch(VISITOR_KEY_PATTERN, key) is not None
