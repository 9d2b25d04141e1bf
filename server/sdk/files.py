"""Pure helpers for serving the SDK bundle: safe path resolution, encodings, caching.

The bundle (built by ``wasm_build``) has two kinds of files:

* stable names — ``rapport.js`` (in the host page's ``<script>``) and ``manifest.json``
  (maps logical names to hashed ones): cached 5 minutes and revalidated by ETag, so a
  new release reaches pages quickly;
* content-hashed names — everything else: cached a year, ``immutable``. The browser's
  HTTP cache is partitioned per top-level site, so this is what makes the multi-MB
  Pyodide download a one-time cost per site.

Precompressed siblings (``X.br``, ``X.gz``) are served when the client accepts them:
brotli at build time beats any on-the-fly compression and costs no CPU per request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

__all__ = [
    "IMMUTABLE_CACHE",
    "SHORT_CACHE",
    "STABLE_NAMES",
    "SdkFile",
    "accepted_encodings",
    "content_type",
    "etag_matches",
    "resolve_sdk_file",
]

STABLE_NAMES: Final = frozenset({"rapport.js", "manifest.json"})
SHORT_CACHE: Final = "public, max-age=300"
IMMUTABLE_CACHE: Final = "public, max-age=31536000, immutable"

_CONTENT_TYPES: Final = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".json": "application/json",
    ".map": "application/json",
    ".css": "text/css",
    ".txt": "text/plain",
    ".onnx": "application/octet-stream",
}
#: Our encoding preference (smallest first) and the sibling suffix for each.
_ENCODINGS: Final = (("br", ".br"), ("gzip", ".gz"))


def content_type(name: str) -> str:
    """The ``Content-Type`` for a bundle file name (``application/octet-stream`` if unknown)."""
    return _CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")


def accepted_encodings(accept_encoding: str | None) -> frozenset[str]:
    """The content codings an ``Accept-Encoding`` header allows (``q=0`` excludes)."""
    if not accept_encoding:
        return frozenset()
    allowed: set[str] = set()
    refused: set[str] = set()
    wildcard = False
    for item in accept_encoding.split(","):
        token, _, params = item.strip().partition(";")
        coding = token.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not coding:
            continue
        if coding == "*":
            wildcard = quality > 0
        elif quality > 0:
            allowed.add(coding)
        else:
            refused.add(coding)
    if wildcard:
        allowed |= {name for name, _ in _ENCODINGS} - refused
    return frozenset(allowed)


@dataclass(frozen=True, slots=True)
class SdkFile:
    """What to send for one request: which file on disk, with which headers."""

    path: Path
    """The file to stream (possibly the ``.br``/``.gz`` sibling)."""
    name: str
    """The requested name (decides type and caching)."""
    encoding: str | None
    stable: bool

    @property
    def media_type(self) -> str:
        return content_type(self.name)

    @property
    def cache_control(self) -> str:
        return SHORT_CACHE if self.stable else IMMUTABLE_CACHE

    def etag(self) -> str:
        """A strong ETag from the served bytes (so it differs per encoding, and is the
        same on every server of a deployment, unlike an mtime-based one)."""
        stat = self.path.stat()
        return _content_etag(str(self.path), stat.st_mtime_ns, stat.st_size)


def resolve_sdk_file(root: Path, requested: str, accept_encoding: str | None) -> SdkFile | None:
    """Map a URL path below ``/sdk/`` to a file under ``root``, or ``None`` (→ 404).

    Traversal is impossible: ``..``, absolute paths, backslashes, NUL and dot-files are
    refused before touching the disk, and the resolved path (symlinks followed) must still
    be inside ``root``.
    """
    name = requested.lstrip("/")
    if not name or "\\" in name or "\x00" in name:
        return None
    parts = name.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    try:
        base = root.resolve(strict=True)
        target = (base / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    stable = name in STABLE_NAMES
    allowed = accepted_encodings(accept_encoding)
    for encoding, suffix in _ENCODINGS:
        if encoding in allowed:
            sibling = target.with_name(target.name + suffix)
            if sibling.is_file() and sibling.resolve().is_relative_to(base):
                return SdkFile(path=sibling, name=name, encoding=encoding, stable=stable)
    return SdkFile(path=target, name=name, encoding=None, stable=stable)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (weak comparison, RFC 9110)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(
        candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(",")
    )


_etag_cache: dict[tuple[str, int, int], str] = {}


def _content_etag(path: str, mtime_ns: int, size: int) -> str:
    key = (path, mtime_ns, size)
    etag = _etag_cache.get(key)
    if etag is None:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        etag = f'"{digest.hexdigest()[:32]}"'
        if len(_etag_cache) > 256:
            _etag_cache.clear()
        _etag_cache[key] = etag
    return etag
