"""Parsing of ``--database`` URLs.

The CLI and the app accept one URL so that moving from the embedded default (SQLite) to
PostgreSQL is a configuration change, not a code change. The SQLite form follows the
SQLAlchemy convention people already know: ``sqlite:///relative.db`` is relative to the
working directory and ``sqlite:////abs/path.db`` is absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = ["DatabaseURL", "InvalidDatabaseURL", "parse_database_url"]


class InvalidDatabaseURL(ValueError):
    """The URL names no backend we support, or is malformed for its backend."""


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database URL: exactly one of ``path`` (SQLite) or ``dsn`` (PostgreSQL) is set."""

    backend: Literal["sqlite", "postgresql"]
    path: Path | None = None
    dsn: str | None = None

    def redacted(self) -> str:
        """The URL for logs and health output, without a password."""
        if self.backend == "sqlite":
            return f"sqlite:///{self.path}"
        parts = urlsplit(self.dsn or "")
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        # A Unix socket's directory (and port: its file's name) are in the query; they say
        # where the server connects, and hold no secret.
        socket = [(key, value) for key, value in parse_qsl(parts.query) if key in ("host", "port")]
        where = f"?{urlencode(socket, safe='/')}" if socket and not host else ""
        return f"postgresql://{user}{host}{port}{parts.path}{where}"


def parse_database_url(url: str) -> DatabaseURL:
    """Parse ``sqlite:///file.db``, ``postgresql://user:pass@host:port/db`` or, over a Unix
    socket, ``postgresql://user@/db?host=/var/run/postgresql``.

    In-memory SQLite is refused: the server keeps a writer connection and a separate
    reader connection, and two ``:memory:`` connections would be two different databases.
    """
    url = url.strip()
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///"):
            raise InvalidDatabaseURL(
                f"bad SQLite URL {url!r}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        raw = url[len("sqlite:///") :]
        raw = raw.split("?", 1)[0]
        path = unquote(raw)
        if path in ("", ":memory:") or path.startswith("file::memory:"):
            raise InvalidDatabaseURL(
                f"bad SQLite URL {url!r}: an in-memory database cannot be shared by the writer "
                "and reader connections; give a file path"
            )
        return DatabaseURL(backend="sqlite", path=Path(path))
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(url)
        if not parts.hostname and "host=" not in parts.query:
            raise InvalidDatabaseURL(f"bad PostgreSQL URL {url!r}: no host")
        return DatabaseURL(backend="postgresql", dsn=url)
    raise InvalidDatabaseURL(
        f"unsupported database URL {url!r}: expected sqlite:///path.db or postgresql://…"
    )
