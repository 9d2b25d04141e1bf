"""One request header read straight from the ASGI scope.

Litestar's ``request.headers`` builds a multidict of every header before the first lookup. The
CORS middleware (every ``/v1/`` request) and the collect route (every visitor's batches) need
one or two headers each, so they scan the scope's list instead.
"""

from __future__ import annotations

from litestar.types import Scope

__all__ = ["scope_header"]


def scope_header(scope: Scope, name: bytes) -> str | None:
    """The first ``name`` header (``name`` lower-case; matched case-insensitively), else
    ``None``."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
