"""OpenAPI pieces Litestar cannot infer because some handlers decode bodies themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, cast

from litestar import Litestar
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    OpenAPIMediaType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.params import PathParameter, QueryParameter

from rapport.server.errors import ErrorBody
from rapport.server.ingest.schema import collect_json_schema

__all__ = [
    "ERROR_RESPONSES",
    "CollectOperation",
    "SiteKeyPath",
    "SiteKeyQuery",
    "add_collect_schemas",
    "error_responses",
    "openapi_config",
]

_REF_TEMPLATE: Final = "#/components/schemas/{name}"

ERROR_RESPONSES: Final[dict[int, ResponseSpec]] = {
    code: ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)
    for code, description in {
        400: "Malformed JSON, not UTF-8, a key repeated in an object, or a query parameter "
        "given twice.",
        403: "Origin header missing or not allowed for this site.",
        404: "Unknown site key.",
        409: "The batch id is already used by another visitor of the site (nothing stored).",
        413: "Body too large.",
        415: "Unsupported Content-Type (send application/json or text/plain).",
        422: "The body breaks the schema; `field` is the JSON path of the offending field.",
        429: "Rate limit (per client IP or per site) exceeded; see `Retry-After`.",
        503: "Storage busy or unavailable; retry the same batch later.",
    }.items()
}


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """The documented error responses an endpoint can give, in the shared error shape."""
    return {code: ERROR_RESPONSES[code] for code in codes}


#: The site's public key, in the path (admin endpoints) or as ``?site=`` (visitor endpoints).
SiteKeyPath = Annotated[str, PathParameter(description="The site's public key (pk_…).")]
SiteKeyQuery = Annotated[
    str | None, QueryParameter(name="site", description="The site's public key (pk_…).")
]


@dataclass
class CollectOperation(Operation):
    """``POST /v1/collect``: documents the body the handler decodes with msgspec itself."""

    def __post_init__(self) -> None:
        schema, _ = collect_json_schema(_REF_TEMPLATE)
        media = OpenAPIMediaType(schema=Reference(ref=schema["$ref"]))
        self.request_body = RequestBody(
            content={"application/json": media, "text/plain": media},
            required=True,
            description=(
                "A batch of derived signals. `text/plain` is accepted too, so that browsers "
                "send it without a CORS preflight (and `navigator.sendBeacon` works)."
            ),
        )


def add_collect_schemas(app: Litestar) -> None:
    """Add the collect body's component schemas to the app's OpenAPI document.

    Litestar 2.25 replaces ``OpenAPIConfig.components.schemas`` with the schemas it
    generated itself, so ours are added to the built document instead (before its first
    rendering, which is cached).
    """
    _, components = collect_json_schema(_REF_TEMPLATE)
    document = app.openapi_schema
    schemas = dict(document.components.schemas or {})
    # Litestar renders plain dicts as they are.
    schemas.update(cast(dict[str, Schema], cast(Any, components)))
    document.components.schemas = schemas


def openapi_config(version: str) -> OpenAPIConfig:
    """The app's OpenAPI config.

    ``/schema`` and ``/schema/openapi.json`` serve the JSON document itself (the first
    render plugin is served at the root), so it works offline and in scripts. There is no
    browsable UI page: Litestar's load their JavaScript from a CDN (Scalar at ``@latest``,
    without integrity), which would run third-party code on the API's origin. Open the JSON
    in any OpenAPI viewer instead.
    """
    return OpenAPIConfig(
        title="Rapport API",
        version=version,
        path="/schema",
        description=(
            "Derived behaviour signals in, adaptation hints out. Every error body is "
            '`{"error": "<message>", "field": "<JSON path>|null"}`.'
        ),
        render_plugins=[JsonRenderPlugin()],
    )
