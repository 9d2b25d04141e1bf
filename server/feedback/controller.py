"""``POST /v1/feedback``: ``rapport.feedback(hint_id, outcome)`` from the page.

A missed hint (``ignored`` / ``dismissed``) is suppressed for the playbook's
``feedback.suppress_seconds`` and its strength decays with every miss since the last
``helpful`` (``server/playbook/engine.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency

from rapport.client_py.identity import VISITOR_KEY_PATTERN, visitor_id_from_key
from rapport.client_py.schema import SITE_KEY_PATTERN
from rapport.server.hints import store as hint_store
from rapport.server.json_body import decode_body
from rapport.server.openapi import error_responses
from rapport.server.request_body import read_body
from rapport.server.services import Services
from rapport.server.sites.access import require_origin, resolve_site

__all__ = ["FeedbackController", "FeedbackIn", "FeedbackReply"]


def _strict(pattern: str) -> str:
    """``^…$`` → ``\\A(?:…)\\Z`` (msgspec searches; ``$`` would allow a trailing newline)."""
    return r"\A(?:" + pattern.removeprefix("^").removesuffix("$") + r")\Z"


HINT_ID_PATTERN: Final = r"\A[a-z][a-z0-9_]*\.[a-z0-9_:.+-]{1,80}\Z"


class FeedbackIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Body of ``POST /v1/feedback``."""

    site: Annotated[str, msgspec.Meta(pattern=_strict(SITE_KEY_PATTERN))]
    key: Annotated[str, msgspec.Meta(pattern=_strict(VISITOR_KEY_PATTERN))]
    """The visitor key (``client_py/identity.py``): feedback lands on the id it proves."""
    hint_id: Annotated[str, msgspec.Meta(pattern=HINT_ID_PATTERN)]
    outcome: Literal["helpful", "ignored", "dismissed"]


class FeedbackReply(msgspec.Struct, frozen=True):
    """The feedback was stored."""

    stored: bool


_DECODER: Final = msgspec.json.Decoder(FeedbackIn)


class FeedbackController(Controller):
    """Feedback on hints, from pages on the site's origins."""

    path = "/v1/feedback"
    tags = ["hints"]  # noqa: RUF012 - Litestar's class attribute

    @post(
        "/",
        status_code=200,
        responses=error_responses(400, 403, 404, 413, 422, 503),
        summary="Record whether a hint helped (helpful, ignored, dismissed)",
    )
    async def feedback(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> FeedbackReply:
        """Body ``{"site", "key", "hint_id", "outcome"}`` as ``application/json`` or
        ``text/plain`` (no preflight). Checks as for collect: Origin present, schema (422),
        site (404), site rate limit (429), Origin allowed (403)."""
        origin = request.headers.get("origin")
        require_origin(origin)
        body = await read_body(
            request, services.settings.max_body_bytes, advice="send one hint's outcome"
        )
        data = decode_body(_DECODER, body, where="/v1/feedback")
        site = await resolve_site(services, data.site, origin, where="$.site")
        await hint_store.add_feedback(
            services.storage,
            site.id,
            visitor_id_from_key(data.key),
            data.hint_id,
            data.outcome,
            at=services.clock(),
        )
        return FeedbackReply(stored=True)
