"""``POST /v1/collect``: validate, check the site and origin, store once, reply with hints."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from client_py.identity import visitor_id_from_key
from server.errors import ApiError, decode_error, validation_error
from server.hints.engine import HintEngine
from server.hints.model import Hint
from server.ingest.extract import extract_observations, to_stored_signals
from server.ingest.schema import BATCH_DECODER
from server.openapi import ERROR_RESPONSES, CollectOperation
from server.ops import check_site_limit
from server.services import Services
from server.sites.access import check_origin, require_origin
from server.storage.base import IngestBatch

__all__ = ["CollectController", "CollectReply"]

#: ``text/plain`` avoids a CORS preflight and is what ``sendBeacon`` sends for strings; an
#: absent type is what it sends for an untyped Blob.
_ACCEPTED_TYPES: Final = frozenset({"application/json", "text/plain", ""})


class CollectReply(msgspec.Struct, frozen=True, omit_defaults=True):
    """Reply to a stored (or already stored) batch, with the visitor's current hints."""

    batch: str
    accepted: int
    """Signals of this batch that are durably stored (also when ``duplicate``)."""
    duplicate: bool
    """True when this batch id was already stored: nothing was stored again."""
    hints: list[Hint]
    holdout: bool = False
    """Present (true) only for the control group: hints were computed and logged, not sent."""


class CollectController(Controller):
    """Ingest of derived signals from the browser SDK."""

    path = "/v1/collect"
    tags = ["ingest"]  # noqa: RUF012 - Litestar's class attribute

    @post(
        "/",
        status_code=200,
        operation_class=CollectOperation,
        responses=ERROR_RESPONSES,
        summary="Store a batch of signals and return the visitor's hints",
    )
    async def collect(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> CollectReply:
        """Decode the raw body with a cached msgspec decoder (faster than ``data:``).

        Order of checks: Origin present → content type → size (413, by Litestar) → JSON
        (400) → schema (422) → site key (404) → site rate limit (429) → origin allowed for
        that site (403) → store. The per-IP limit (429) runs before all of them.
        """
        origin = request.headers.get("origin")
        require_origin(origin)
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in _ACCEPTED_TYPES:
            raise ApiError(
                HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"unsupported Content-Type {media_type!r}: send application/json or text/plain",
            )
        try:
            body = await request.body()
        except RequestEntityTooLarge:
            limit = services.settings.max_body_bytes
            raise ApiError(
                HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"body larger than {limit} bytes: send fewer signals per batch",
                "$",
            ) from None
        try:
            batch = BATCH_DECODER.decode(body)
        except msgspec.ValidationError as exc:
            raise validation_error(exc) from None
        except msgspec.DecodeError as exc:
            raise decode_error(exc) from None

        site = await services.sites.by_key(batch.site)
        if site is None:
            raise ApiError(HTTP_404_NOT_FOUND, "unknown site key", "$.site")
        check_site_limit(services, site.site_key, "$.site")
        check_origin(origin, site)

        now = services.clock()
        visitor = visitor_id_from_key(batch.key)
        result = await services.storage.ingest(
            IngestBatch(
                site_id=site.id,
                visitor=visitor,
                session=batch.session,
                batch_id=batch.batch,
                received_at=now,
                signals=to_stored_signals(batch.signals),
                observations=extract_observations(batch.signals),
            )
        )
        metrics = services.metrics
        metrics.ingest_batches.inc()
        if result.duplicate:
            metrics.ingest_duplicates.inc()
        else:
            metrics.ingest_signals.inc(amount=len(batch.signals))
        engine: HintEngine = request.app.state.hints
        decision = await engine.hints(site.id, visitor, result.profile, now=now)
        return CollectReply(
            batch=batch.batch,
            accepted=len(batch.signals),
            duplicate=result.duplicate,
            hints=decision.hints,
            holdout=decision.holdout,
        )
