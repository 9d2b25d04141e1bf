"""Decoding a JSON request body: valid UTF-8, valid JSON, the schema, and no duplicate keys.

Every route that takes a JSON body decodes it with :func:`decode_body`, so each refusal is
a clear 4xx in the API's error shape:

* bytes that are not UTF-8 → 400 naming the offset (msgspec raises ``UnicodeDecodeError``,
  which used to end as a 500 with a traceback per request: a log-flooding route);
* not JSON → 400, schema violations → 422 (:mod:`server.errors`);
* a key written twice in one object → 400 naming it. JSON allows it and msgspec, like most
  parsers, silently keeps the last value, so ``{"site": A, "site": B}`` was stored under B
  while a proxy or a log reader that keeps the first saw A.

msgspec cannot report duplicates, and a second full parse with ``object_pairs_hook`` would
cost more than the decode itself. The check is arithmetic instead: without backslashes in
the body, every ``:`` byte is either the separator after a key or part of a string value,
and string values come out of the decoder unchanged. The decoded types are structs with
``omit_defaults=True`` (nested ones too), so re-encoding the value writes only fields that
were present with a non-default value: *at most* as many colons as the body had, and exactly
as many when no key was repeated and none was sent with its default value. Only when the
counts differ (or the body has a backslash) does the slow exact scan run, and it only
confirms or clears the suspicion: a body with an explicit ``null`` is slower, not
refused. Measured in ``bench/json_body.py``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final, TypeVar

import msgspec
from litestar.status_codes import HTTP_400_BAD_REQUEST

from rapport.server.errors import ApiError, decode_error, validation_error

__all__ = ["DuplicateKey", "decode_body", "duplicate_key", "invalid_utf8"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_ENCODE: Final = msgspec.json.encode


class DuplicateKey(ValueError):
    """A JSON object names the same key twice (``key`` is the name, ``path`` where)."""

    def __init__(self, key: str, path: str) -> None:
        super().__init__(key)
        self.key = key
        self.path = path


def invalid_utf8(body: bytes, where: str) -> ApiError:
    """The 400 for bytes that are not UTF-8; logged as one line, never a traceback."""
    try:
        body.decode()
        offset = -1
    except UnicodeDecodeError as exc:  # msgspec's offset is within one string: find the body's
        offset = exc.start
    log.info("400 on %s: body is not valid UTF-8 (byte %d)", where, offset)
    return ApiError(
        HTTP_400_BAD_REQUEST,
        f"body is not valid UTF-8 (invalid byte at offset {offset}): send UTF-8 JSON",
        "$",
    )


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DuplicateKey(key, "")
        seen[key] = value
    return seen


def duplicate_key(body: bytes) -> str | None:
    """The first key written twice in one object of ``body`` (valid JSON), else ``None``."""
    try:
        json.loads(body, object_pairs_hook=_reject_duplicates)
    except DuplicateKey as exc:
        return exc.key
    except ValueError:  # pragma: no cover - the body was decoded by msgspec already
        return None
    return None


def _may_repeat_a_key(body: bytes, value: object) -> bool:
    """False when ``body`` certainly has no repeated key (see the module docstring)."""
    if b"\\" in body:
        return True
    return body.count(b":") != _ENCODE(value).count(b":")


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


def decode_body(decoder: msgspec.json.Decoder[T], body: bytes, *, where: str) -> T:
    """Decode ``body`` or raise the API's 400/422 (``where`` names the route in the log)."""
    try:
        value = decoder.decode(body)
    except msgspec.ValidationError as exc:
        # msgspec may meet an unknown field before the bad bytes in its value: the bytes are
        # what is wrong first. Checked only on this error path, never on accepted bodies.
        if not _is_utf8(body):
            raise invalid_utf8(body, where) from None
        raise validation_error(exc) from None
    except msgspec.DecodeError as exc:
        raise decode_error(exc) from None
    except UnicodeDecodeError:
        raise invalid_utf8(body, where) from None
    if _may_repeat_a_key(body, value) and (key := duplicate_key(body)) is not None:
        shown = key if len(key) <= 60 else key[:59] + "…"
        raise ApiError(
            HTTP_400_BAD_REQUEST,
            f"duplicate key {shown!r} in a JSON object: send each key once",
            shown,
        )
    return value
