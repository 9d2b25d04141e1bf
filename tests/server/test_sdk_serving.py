"""``GET /sdk/...``: types, caching, precompressed variants, CORS, and path safety."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import brotli
import pytest

from rapport.server.sdk.files import (
    IMMUTABLE_CACHE,
    SHORT_CACHE,
    accepted_encodings,
    content_type,
    etag_matches,
    resolve_sdk_file,
)

LOADER = b"/* rapport loader */ console.log('rapport');" * 20
WASM = b"\x00asm\x01\x00\x00\x00" + b"\x00" * 200


@pytest.fixture
def sdk(api: Any) -> Any:
    root: Path = api.sdk_dir
    (root / "pyodide-abc123").mkdir(parents=True)
    (root / "rapport.js").write_bytes(LOADER)
    (root / "rapport.js.br").write_bytes(brotli.compress(LOADER))
    (root / "rapport.js.gz").write_bytes(gzip.compress(LOADER))
    (root / "manifest.json").write_text('{"worker": "worker.1a2b3c.mjs"}')
    (root / "worker.1a2b3c.mjs").write_text("export {};")
    (root / "pyodide-abc123" / "pyodide.asm.wasm").write_bytes(WASM)
    (root / "pyodide-abc123" / "pyodide.asm.wasm.br").write_bytes(brotli.compress(WASM))
    (root / "client_py-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04")
    (root / ".secret").write_text("no")
    return api


def get(api: Any, path: str, **headers: str) -> Any:
    return api.client.get(path, headers=headers)


def test_loader_is_cached_briefly_and_revalidated(sdk: Any) -> None:
    reply = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "identity"})
    assert reply.status_code == 200
    assert reply.content == LOADER
    assert reply.headers["cache-control"] == SHORT_CACHE
    assert reply.headers["etag"].startswith('"')
    assert reply.headers["content-type"].startswith("text/javascript")


def test_loader_answers_304_to_a_matching_etag(sdk: Any) -> None:
    first = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "br"})
    again = get(
        sdk, "/sdk/rapport.js", **{"Accept-Encoding": "br", "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["access-control-allow-origin"] == "*"


def test_manifest_is_cached_briefly(sdk: Any) -> None:
    reply = get(sdk, "/sdk/manifest.json")
    assert reply.headers["cache-control"] == SHORT_CACHE
    assert reply.headers["content-type"].startswith("application/json")


def test_hashed_files_are_immutable(sdk: Any) -> None:
    reply = get(sdk, "/sdk/worker.1a2b3c.mjs")
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == IMMUTABLE_CACHE
    assert reply.headers["content-type"].startswith("text/javascript")


def test_every_sdk_file_is_usable_cross_origin(sdk: Any) -> None:
    for path in (
        "/sdk/rapport.js",
        "/sdk/worker.1a2b3c.mjs",
        "/sdk/pyodide-abc123/pyodide.asm.wasm",
    ):
        reply = get(sdk, path)
        assert reply.headers["access-control-allow-origin"] == "*"
        assert reply.headers["cross-origin-resource-policy"] == "cross-origin"


def test_brotli_sibling_is_served_when_accepted(sdk: Any) -> None:
    reply = sdk.client.get(
        "/sdk/pyodide-abc123/pyodide.asm.wasm", headers={"Accept-Encoding": "gzip, br"}
    )
    assert reply.headers["content-encoding"] == "br"
    assert reply.headers["content-type"] == "application/wasm"
    assert "Accept-Encoding" in reply.headers["vary"]
    assert reply.content == WASM  # httpx decodes br


def test_gzip_sibling_is_served_when_brotli_is_not_accepted(sdk: Any) -> None:
    reply = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "gzip"})
    assert reply.headers["content-encoding"] == "gzip"
    assert reply.content == LOADER


def test_identity_is_served_when_no_encoding_is_accepted(sdk: Any) -> None:
    reply = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in reply.headers
    assert reply.content == LOADER


def test_encoded_variants_have_distinct_etags(sdk: Any) -> None:
    br = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "br"}).headers["etag"]
    plain = get(sdk, "/sdk/rapport.js", **{"Accept-Encoding": "identity"}).headers["etag"]
    assert br != plain


def test_wheels_are_served_as_zip(sdk: Any) -> None:
    reply = get(sdk, "/sdk/client_py-0.1.0-py3-none-any.whl")
    assert reply.headers["content-type"] == "application/zip"


@pytest.mark.parametrize(
    "path",
    [
        "/sdk/missing.js",
        "/sdk/.secret",
        "/sdk/../conftest.py",
        "/sdk/%2e%2e/api.db",
        "/sdk/pyodide-abc123/../../api.db",
        "/sdk/pyodide-abc123",
        "/sdk/..%5capi.db",
    ],
)
def test_missing_hidden_and_outside_paths_are_404(sdk: Any, path: str) -> None:
    reply = get(sdk, path)
    assert reply.status_code == 404
    assert set(reply.json()) == {"error", "field"}


def test_sdk_requests_are_404_when_no_bundle_was_built(api: Any) -> None:
    assert not api.sdk_dir.exists()
    assert get(api, "/sdk/rapport.js").status_code == 404


def test_symlink_out_of_the_bundle_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "dist"
    root.mkdir()
    (tmp_path / "private.txt").write_text("secret")
    (root / "leak.txt").symlink_to(tmp_path / "private.txt")
    assert resolve_sdk_file(root, "leak.txt", None) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, set()),
        ("gzip, deflate, br, zstd", {"gzip", "deflate", "br", "zstd"}),
        ("br;q=0, gzip", {"gzip"}),
        ("*", {"br", "gzip"}),
        ("*;q=0.5, br;q=0", {"gzip"}),
        ("gzip;q=bogus", set()),
    ],
)
def test_accept_encoding_parsing(header: str | None, expected: set[str]) -> None:
    assert accepted_encodings(header) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rapport.js", "text/javascript"),
        ("x/pyodide.asm.mjs", "text/javascript"),
        ("pyodide.asm.wasm", "application/wasm"),
        ("python_stdlib.ab12.zip", "application/zip"),
        ("manifest.json", "application/json"),
        ("model.bin", "application/octet-stream"),
    ],
)
def test_content_types(name: str, expected: str) -> None:
    assert content_type(name) == expected


def test_etag_matching_follows_weak_comparison() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('W/"abc", "def"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abd"', '"abc"')
    assert not etag_matches(None, '"abc"')


@pytest.mark.parametrize(
    "requested",
    ["../outside.txt", "/../outside.txt", "a/../../outside.txt", "..\\outside.txt", "", "x\x00"],
)
def test_traversal_attempts_resolve_to_nothing(tmp_path: Path, requested: str) -> None:
    root = tmp_path / "dist"
    (root / "a").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("secret")
    assert resolve_sdk_file(root, requested, None) is None


def test_head_gives_the_headers_without_the_body(sdk: Any) -> None:
    reply = sdk.client.head("/sdk/rapport.js", headers={"Accept-Encoding": "br"})
    assert reply.status_code == 200
    assert reply.content == b""
    assert reply.headers["content-encoding"] == "br"
    assert reply.headers["cache-control"] == SHORT_CACHE
    assert reply.headers["access-control-allow-origin"] == "*"
