"""``GET /sdk/{path}``: the SDK bundle, cross-origin, cached, precompressed.

Every file is loaded by third-party pages (and fetched from a Blob-URL worker), so each
response carries ``Access-Control-Allow-Origin: *`` and
``Cross-Origin-Resource-Policy: cross-origin``. The directory may not exist (no build
yet): the app still starts and these requests get 404.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from litestar import Controller, Request, Response, get, head
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import File
from litestar.response.file import ASGIFileResponse
from litestar.status_codes import HTTP_304_NOT_MODIFIED, HTTP_404_NOT_FOUND

from rapport.server.errors import ApiError
from rapport.server.sdk.files import SdkFile, etag_matches, resolve_sdk_file
from rapport.server.services import Services

__all__ = ["SdkController", "sdk_headers"]

_CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "Vary": "Accept-Encoding",
}


def sdk_headers(sdk_file: SdkFile, etag: str) -> dict[str, str]:
    """Headers for an SDK response (200 or 304)."""
    headers = {**_CORS_HEADERS, "Cache-Control": sdk_file.cache_control, "ETag": etag}
    if sdk_file.encoding is not None:
        headers["Content-Encoding"] = sdk_file.encoding
    return headers


class SdkController(Controller):
    """Static files of the SDK bundle (GET and HEAD)."""

    path = "/sdk"
    tags = ["sdk"]  # noqa: RUF012 - Litestar's class attribute

    @get("/{file_path:path}", summary="A file of the SDK bundle", include_in_schema=False)
    async def sdk_file(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        file_path: FromPath[str],
    ) -> Response[Any]:
        """Resolve safely, negotiate the encoding, answer 304 on a matching ETag."""
        sdk_file, headers = await _prepare(request, services, file_path)
        if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(content=b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return File(
            path=sdk_file.path,
            filename=sdk_file.name.rsplit("/", 1)[-1],
            media_type=sdk_file.media_type,
            content_disposition_type="inline",
            headers=headers,
        )

    @head("/{file_path:path}", include_in_schema=False)
    async def sdk_file_head(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        file_path: FromPath[str],
    ) -> ASGIFileResponse:
        """The GET response's headers without its body (Litestar does not derive HEAD)."""
        sdk_file, headers = await _prepare(request, services, file_path)
        return ASGIFileResponse(
            file_path=sdk_file.path,
            filename=sdk_file.name.rsplit("/", 1)[-1],
            media_type=sdk_file.media_type,
            content_disposition_type="inline",
            headers=headers,
            is_head_response=True,
        )


async def _prepare(
    request: Request[Any, Any, Any], services: Services, file_path: str
) -> tuple[SdkFile, dict[str, str]]:
    """The file to send and its headers, or a 404."""
    root = services.settings.sdk_dir
    accept_encoding = request.headers.get("accept-encoding")
    sdk_file = await asyncio.to_thread(resolve_sdk_file, root, file_path, accept_encoding)
    if sdk_file is None:
        raise ApiError(HTTP_404_NOT_FOUND, f"no SDK file {file_path.lstrip('/')!r}")
    etag = await asyncio.to_thread(sdk_file.etag)
    return sdk_file, sdk_headers(sdk_file, etag)
