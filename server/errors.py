"""One error shape for every API error: ``{"error": "<message>", "field": "<path>|null"}``.

The browser SDK and site owners debugging an integration both need to know *which* field
was refused, so schema errors carry a JSON path such as ``$.signals[0].seconds``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap

from rapport.server.storage import StorageBusy, StorageError
from rapport.server.storage.outage import OUTAGE_RETRY_AFTER, OutageLog, is_outage

__all__ = [
    "ApiError",
    "ErrorBody",
    "decode_error",
    "exception_handlers",
    "field_from_message",
    "validation_error",
]

log = logging.getLogger(__name__)

_MAX_MESSAGE: Final = 300
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>\$[^`]*)`)?$", re.DOTALL)
_NAMED_FIELD = re.compile(r"^Object (?:contains unknown|missing required) field `(?P<name>.*)`$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Patterns are validated as \A(?:…)\Z (see server.ingest.schema.strict_pattern); show the
# shared schema's pattern instead.
_STRICT_REGEX = re.compile(r"'\\\\A\(\?:(?P<inner>.*)\)\\\\Z'")


class ErrorBody(msgspec.Struct, frozen=True):
    """The JSON body of every error response."""

    error: str
    """What was wrong, for a developer."""
    field: str | None = None
    """JSON path of the offending field (``$.signals[0].seconds``), when there is one."""


class ApiError(HTTPException):
    """An HTTP error with the API's body shape."""

    def __init__(
        self,
        status_code: int,
        error: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=error, status_code=status_code, headers=headers)
        self.error = error
        self.field = field


def field_from_message(message: str) -> str | None:
    """The JSON path a msgspec validation message refers to.

    ``"Object contains unknown field `foo` - at `$.signals[0]`"`` → ``$.signals[0].foo``:
    for unknown and missing fields the path names the field itself, not its parent.
    """
    match = _AT_PATH.match(message)
    if match is None:  # pragma: no cover - the regex matches any string
        return None
    path = match["path"]
    named = _NAMED_FIELD.match(match["message"])
    if named is not None:
        name = named["name"]
        suffix = (
            f".{name}" if _IDENTIFIER.match(name) else f"[{msgspec.json.encode(name).decode()}]"
        )
        return (path or "$") + suffix
    return path


def _clean(message: str) -> str:
    message = _STRICT_REGEX.sub(lambda m: "'" + m["inner"] + "'", message)
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return message


def validation_error(exc: msgspec.ValidationError) -> ApiError:
    """A 422 for a body that is JSON but breaks the schema."""
    message = str(exc)
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, _clean(message), field_from_message(message))


def decode_error(exc: msgspec.DecodeError) -> ApiError:
    """A 400 for a body that is not JSON at all."""
    return ApiError(HTTP_400_BAD_REQUEST, _clean(f"malformed JSON: {exc}"))


def _body(
    status: int, error: str, field: str | None, headers: dict[str, str] | None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(error=error, field=field),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    if isinstance(exc, ApiError):
        return _body(exc.status_code, exc.error, exc.field, exc.headers)
    return _body(exc.status_code, str(exc.detail), None, exc.headers)


def _outage_log(request: Request[Any, Any, Any]) -> OutageLog | None:
    services = getattr(request.app.state, "services", None)
    return None if services is None else services.storage.outage


def _storage_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """503 with ``Retry-After`` and a generic text: the raw error may name hosts or files.

    A full write queue is back-pressure (``Retry-After: 1``, nothing logged: the metrics
    show it); anything else is an outage, logged once per outage by :class:`OutageLog`.
    """
    if isinstance(exc, StorageBusy):
        return _body(
            HTTP_503_SERVICE_UNAVAILABLE,
            "storage is busy; retry later",
            None,
            {"Retry-After": "1"},
        )
    if (outage := _outage_log(request)) is not None:
        outage.failed(exc)
    return _body(
        HTTP_503_SERVICE_UNAVAILABLE,
        "storage unavailable; retry later",
        None,
        {"Retry-After": str(OUTAGE_RETRY_AFTER)},
    )


def _not_utf8(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[ErrorBody]:
    """Bytes that are not UTF-8 anywhere in a request (a query string, say): one log line."""
    log.info("400 on %s: request is not valid UTF-8", request.url.path)
    return _body(HTTP_400_BAD_REQUEST, "request is not valid UTF-8", None, None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    if is_outage(exc):
        return _storage_error(request, exc)
    log.exception("unhandled error", exc_info=exc)
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error", None, None)


def exception_handlers() -> ExceptionHandlersMap:
    """Handlers that give every error, including Litestar's own (404, 405, 413…), our shape."""
    return {
        HTTPException: _http_exception,
        StorageError: _storage_error,
        UnicodeDecodeError: _not_utf8,
        Exception: _unexpected,
    }
