"""What must never leave the visitor's device, checked on recorded requests.

``assert_nothing_private(requests, typed=[…])`` fails when a request to Rapport carries typed text
or a field value (whole, or any run of three of its words), a query string, text of the page's
marked sections, pixels (an image body, a data: URL, a body too big for signals), or a batch
signal the schema (``client_py/schema.py``) does not allow. Requests are Playwright ``Request``
objects (sync or async API) or :class:`SentRequest` records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

from rapport.client_py.privacy import allowed_signal

__all__ = ["SentRequest", "assert_nothing_private", "is_rapport_request", "private_findings"]

#: A batch of derived signals is a few KB; a camera frame would be hundreds.
MAX_BODY: Final = 64_000


class _RequestLike(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def post_data_buffer(self) -> bytes | None: ...
    @property
    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class SentRequest:
    url: str
    method: str
    body: bytes
    content_type: str = ""

    @classmethod
    def of(cls, request: _RequestLike | SentRequest) -> SentRequest:
        if isinstance(request, SentRequest):
            return request
        return cls(
            request.url,
            request.method,
            request.post_data_buffer or b"",
            request.headers.get("content-type", ""),
        )


def is_rapport_request(url: str, endpoint: str | None = None) -> bool:
    """A request to Rapport: to ``endpoint`` when given, else any ``/v1/`` or ``/sdk/`` path."""
    if url.startswith(("blob:", "data:")):
        return False
    if endpoint:
        return url.startswith(endpoint.rstrip("/") + "/")
    path = urlsplit(url).path
    return "/v1/" in path or "/sdk/" in path


def _needles(typed: Iterable[str], page_text: Iterable[str]) -> list[str]:
    """Whole texts (typed: 4 characters or more; the page's: 12, so a heading like "Delivery"
    is not mistaken for the section name), and every run of three words (10 or more, punctuation
    around the words dropped)."""
    found: set[str] = set()
    for text, shortest in [*((t, 4) for t in typed), *((t, 12) for t in page_text)]:
        text = " ".join(text.split())
        if len(text) >= shortest:
            found.add(text.lower())
        words = [w.strip(".,!?;:\"'()«»…") for w in text.split()]
        for i in range(len(words) - 2):
            run = " ".join(words[i : i + 3])
            if len(run) >= 10:
                found.add(run.lower())
    return sorted(found)


def private_findings(
    requests: Iterable[_RequestLike | SentRequest],
    typed: Sequence[str] = (),
    *,
    endpoint: str | None = None,
    page_text: Sequence[str] = (),
) -> list[str]:
    """Every problem found, one line each (empty: nothing private left)."""
    problems: list[str] = []
    needles = _needles(typed, page_text)
    for raw in requests:
        request = SentRequest.of(raw)
        if not is_rapport_request(request.url, endpoint):
            continue
        where = f"{request.method} {request.url}"
        if urlsplit(request.url).query and ("/v1/" in request.url or request.method != "GET"):
            problems.append(f"{where}: a query string")
        body = request.body
        if not body:
            continue
        if request.content_type.startswith(("image/", "video/", "application/octet-stream")):
            problems.append(f"{where}: a {request.content_type} body (pixels?)")
        if len(body) > MAX_BODY:
            problems.append(f"{where}: a {len(body):,}-byte body (pixels?)")
        text = body.decode("utf-8", "replace")
        decoded = _decoded(text)
        if "data:image" in decoded or "data:video" in decoded:
            problems.append(f"{where}: a data: image")
        lowered = decoded.lower()
        problems += [f"{where}: carries {n!r}" for n in needles if n in lowered]
        problems += _schema_problems(where, text)
    return problems


def _decoded(text: str) -> str:
    """The body with JSON escapes undone (\\u0413… would hide Cyrillic text)."""
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return text


def _schema_problems(where: str, text: str) -> list[str]:
    if "/v1/collect" not in where:
        return []
    try:
        batch: Any = json.loads(text)
    except ValueError:
        return [f"{where}: a body that is not JSON"]
    signals = batch.get("signals", []) if isinstance(batch, dict) else []
    return [f"{where}: a signal the schema forbids: {s}" for s in signals if not allowed_signal(s)]


def assert_nothing_private(
    requests: Iterable[_RequestLike | SentRequest],
    typed: Sequence[str] = (),
    *,
    endpoint: str | None = None,
    page_text: Sequence[str] = (),
) -> None:
    """Fail (AssertionError listing every finding) when a request to Rapport carries typed text,
    field values, a query string, the page's text, pixels, or a signal outside the schema."""
    problems = private_findings(requests, typed, endpoint=endpoint, page_text=page_text)
    if problems:
        raise AssertionError("private data left the page:\n  " + "\n  ".join(problems))
