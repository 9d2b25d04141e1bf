"""``GET`` / ``DELETE /v1/visitors/{visitor}?site=<site key>``: a visitor's own data.

Authenticated by the visitor secret (``Authorization: Bearer <secret>``), from which the
visitor id is derived (:mod:`server.visitors.identity`): only the browser that made the id
can see or erase what is stored under it. The site key scopes everything: a visitor of
another site is simply not there. When an ``Origin`` header is present (the SDK's worker)
it must be one of the site's origins, as for every ``/v1`` call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, delete, get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from client_py.schema import ID_PATTERN, SITE_KEY_PATTERN
from server.errors import ApiError
from server.openapi import ERROR_RESPONSES, SiteKeyQuery, error_responses
from server.ops import check_site_limit
from server.profiles import Profile
from server.services import Services
from server.sites.access import check_origin
from server.sites.model import Site
from server.visitors.identity import is_valid_secret, secret_matches

__all__ = [
    "StoredBatchOut",
    "StoredSignalOut",
    "VisitorErased",
    "VisitorExport",
    "VisitorsController",
    "bearer_token",
]

_ID_RE: Final = re.compile(ID_PATTERN)
_SITE_KEY_RE: Final = re.compile(SITE_KEY_PATTERN)
_RESPONSES: Final = error_responses(403, 404, 422, 503)


class StoredSignalOut(msgspec.Struct, frozen=True):
    """One signal as stored."""

    kind: str
    body: dict[str, Any]
    """The signal exactly as it was stored (what left the device)."""
    batch: str
    session: str
    received_at: float
    """Server receive time, unix seconds."""
    received: str
    """The same time, ISO 8601 UTC."""


class StoredBatchOut(msgspec.Struct, frozen=True):
    """One batch as stored (its id is the idempotency key)."""

    batch: str
    session: str
    signals: int
    received_at: float
    received: str


class VisitorExport(msgspec.Struct, frozen=True):
    """Everything stored about this visitor on this site."""

    site: str
    visitor: str
    counts: dict[str, int]
    """Rows per table: ``signals``, ``batches``, ``profiles``."""
    profile: Profile | None
    """What the hint rules use (latest score per pattern, actions of recent sessions)."""
    signals: list[StoredSignalOut]
    batches: list[StoredBatchOut]


class VisitorErased(msgspec.Struct, frozen=True):
    """What an erasure removed."""

    site: str
    visitor: str
    removed: dict[str, int]
    """Rows deleted per table: ``signals``, ``batches``, ``profiles``."""


def bearer_token(request: Request[Any, Any, Any], what: str) -> str:
    """The ``Authorization: Bearer …`` value, or a 401 naming what to send."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            HTTP_401_UNAUTHORIZED,
            f"send Authorization: Bearer <{what}>",
            "Authorization",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class VisitorsController(Controller):
    """See and erase one's own data (GDPR access and erasure), per site."""

    path = "/v1/visitors"
    tags = ["visitors"]  # noqa: RUF012 - Litestar's class attribute

    async def _authorise(
        self, request: Request[Any, Any, Any], services: Services, visitor: str, site: str | None
    ) -> Site:
        if _ID_RE.fullmatch(visitor) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY, f"visitor id must match {ID_PATTERN}", "visitor"
            )
        if site is None or _SITE_KEY_RE.fullmatch(site) is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                f"query parameter site must be a site key matching {SITE_KEY_PATTERN}",
                "site",
            )
        secret = bearer_token(request, "visitor secret")
        if not is_valid_secret(secret) or not secret_matches(secret, visitor):
            raise ApiError(
                HTTP_403_FORBIDDEN,
                "the visitor secret does not belong to this visitor id",
                "Authorization",
            )
        record = await services.sites.by_key(site)
        if record is None:
            raise ApiError(HTTP_404_NOT_FOUND, "unknown site key", "site")
        if origin := request.headers.get("origin"):
            check_origin(origin, record)
        check_site_limit(services, record.site_key, "site")  # after Origin: see collect
        return record

    @get(
        "/{visitor:str}",
        responses={**_RESPONSES, 401: ERROR_RESPONSES[403]},
        summary="Everything stored about this visitor on this site",
        cache=False,
    )
    async def export_visitor(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        visitor: Annotated[str, PathParameter(description="The visitor id (from the secret).")],
        site: SiteKeyQuery = None,
    ) -> VisitorExport:
        """Requires ``Authorization: Bearer <visitor secret>``; the id must derive from it."""
        record = await self._authorise(request, services, visitor, site)
        data = await services.storage.visitor_data(record.id, visitor)
        signals = [
            StoredSignalOut(
                kind=s.kind,
                body=msgspec.json.decode(s.body),
                batch=s.batch_id,
                session=s.session,
                received_at=s.received_at,
                received=_iso(s.received_at),
            )
            for s in data.signals
        ]
        batches = [
            StoredBatchOut(
                batch=b.batch_id,
                session=b.session,
                signals=b.signal_count,
                received_at=b.received_at,
                received=_iso(b.received_at),
            )
            for b in data.batches
        ]
        return VisitorExport(
            site=record.site_key,
            visitor=visitor,
            counts={
                "signals": len(signals),
                "batches": len(batches),
                "profiles": 0 if data.profile is None else 1,
            },
            profile=data.profile,
            signals=signals,
            batches=batches,
        )

    @delete(
        "/{visitor:str}",
        status_code=200,
        responses={**_RESPONSES, 401: ERROR_RESPONSES[403]},
        summary="Erase everything stored about this visitor on this site",
    )
    async def erase_visitor(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        visitor: Annotated[str, PathParameter(description="The visitor id (from the secret).")],
        site: SiteKeyQuery = None,
    ) -> VisitorErased:
        """Deletes signals, batches and the profile in one transaction; answers the counts."""
        record = await self._authorise(request, services, visitor, site)
        removed = await services.storage.erase_visitor(record.id, visitor)
        return VisitorErased(site=record.site_key, visitor=visitor, removed=removed)
