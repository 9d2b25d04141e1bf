"""``POST /v1/collect``: validate, check the site and origin, store once, reply with hints."""

from __future__ import annotations

from typing import Any, Final

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from rapport.client_py.identity import visitor_id_from_key
from rapport.server.errors import ApiError
from rapport.server.hints.model import Hint
from rapport.server.ingest.extract import extract_observations, to_stored_signals
from rapport.server.ingest.schema import BATCH_DECODER
from rapport.server.json_body import decode_body
from rapport.server.json_reply import JsonReply
from rapport.server.openapi import ERROR_RESPONSES, CollectOperation
from rapport.server.request_body import read_body
from rapport.server.scope_headers import scope_header
from rapport.server.services import Services
from rapport.server.sites.access import require_origin, resolve_site
from rapport.server.storage.base import IngestBatch

__all__ = ["CollectController", "CollectReply"]

#: ``text/plain`` avoids a CORS preflight and is what ``sendBeacon`` sends for strings; an
#: absent type is what it sends for an untyped Blob.
_ACCEPTED_TYPES: Final = frozenset({"application/json", "text/plain", ""})
_COLLECT: Final = "/v1/collect"


class CollectReply(msgspec.Struct, frozen=True, omit_defaults=True):
    """Reply to a stored (or already stored) batch, with the visitor's current hints."""

    batch: str
    accepted: int
    """Signals of this batch that are durably stored; for a ``duplicate``, what the stored
    batch holds (a batch id already used by another visitor is a 409, not a duplicate)."""
    duplicate: bool
    """True when this batch id was already stored: nothing was stored again."""
    hints: list[Hint]
    holdout: bool = False
    """Present (true) only for the control group: hints were computed and logged, not sent."""


_REPLY_ENCODER: Final = msgspec.json.Encoder()


class CollectController(Controller):
    """Ingest of derived signals from the browser SDK."""

    path = "/v1/collect"
    tags = ["ingest"]  # noqa: RUF012 - Litestar's class attribute

    @post(
        "/",
        status_code=200,
        operation_class=CollectOperation,
        responses={
            200: ResponseSpec(
                data_container=CollectReply,
                description="Stored, or already stored (a retry): the visitor's hints.",
                generate_examples=False,
            )
        }
        | ERROR_RESPONSES,
        summary="Store a batch of signals and return the visitor's hints",
    )
    async def collect(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> JsonReply:
        """Decode the raw body with a cached msgspec decoder (faster than ``data:``).

        Order of checks: Origin present → content type → size (413, by Litestar) → JSON
        (400) → schema (422) → site key (404) → origin allowed for that site (403) → site
        rate limit (429) → store. The per-IP limit (429) runs before all of them. The site's
        budget is spent only by requests from its own origins: any third-party page could
        otherwise make its visitors' browsers exhaust it.

        The reply is encoded here and returned ready (:class:`JsonReply`): this is the
        route every visitor's page calls, and Litestar's own response path cost more than
        storing the batch.
        """
        origin = scope_header(request.scope, b"origin")
        require_origin(origin)
        content_type = scope_header(request.scope, b"content-type") or ""
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in _ACCEPTED_TYPES:
            raise ApiError(
                HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"unsupported Content-Type {media_type!r}: send application/json or text/plain",
            )
        body = await read_body(
            request, services.settings.max_body_bytes, advice="send fewer signals per batch"
        )
        batch = decode_body(BATCH_DECODER, body, where=_COLLECT)

        site = await resolve_site(services, batch.site, origin, where="$.site")

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
        accepted = len(batch.signals)
        if result.duplicate:
            metrics.ingest_duplicates.inc()
            accepted = await _stored_count(services, site.id, batch.batch, visitor)
        else:
            metrics.ingest_signals.inc(amount=accepted)
        engine = services.hints
        decision = await engine.hints(site.id, visitor, result.profile, now=now)
        reply = CollectReply(
            batch=batch.batch,
            accepted=accepted,
            duplicate=result.duplicate,
            hints=decision.hints,
            holdout=decision.holdout,
        )
        return JsonReply(_REPLY_ENCODER.encode(reply))


async def _stored_count(services: Services, site_id: int, batch_id: str, visitor: str) -> int:
    """For a duplicate: how many signals the stored batch holds, if it is this visitor's.

    A batch id is the device's idempotency key. The same id from another visitor of the
    site is not a retry: nothing of it was stored, so answering ``duplicate: true,
    accepted: N`` would tell that client its signals are safe. It gets 409 instead.
    """
    rows = await services.storage.sql_fetch(
        "SELECT visitor, signal_count FROM batches WHERE site_id = ? AND batch_id = ?",
        (site_id, batch_id),
    )
    if not rows:
        return 0  # pruned between the insert attempt and now: nothing of this one is stored
    stored_visitor, count = rows[0]
    if stored_visitor != visitor:
        raise ApiError(
            HTTP_409_CONFLICT,
            "batch id already used by another visitor of this site; nothing was stored: "
            "send the batch under a new id",
            "$.batch",
        )
    return int(count)
