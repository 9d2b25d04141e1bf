"""Parsing of site origins and database URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.server.sites import InvalidOrigin, normalise_origin, normalise_origins
from rapport.server.storage import InvalidDatabaseURL, parse_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://shop.example", "https://shop.example"),
        ("https://shop.example/", "https://shop.example"),
        ("HTTPS://Shop.Example", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://localhost:80", "http://localhost"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("  http://127.0.0.1:8001  ", "http://127.0.0.1:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_origins_are_normalised_like_browsers_send_them(given: str, expected: str) -> None:
    assert normalise_origin(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("shop.example", "scheme"),
        ("ftp://shop.example", "scheme"),
        ("https://", "no host"),
        ("https://shop.example/path", "no path"),
        ("https://shop.example/?q=1", "no path"),
        ("https://shop.example#top", "no path"),
        ("https://user:pw@shop.example", "credentials"),
        ("https://shop.example:99999", "invalid origin"),
        ("https://shop.example:port", "invalid origin"),
    ],
)
def test_bad_origins_are_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(InvalidOrigin, match=reason):
        normalise_origin(given)


def test_duplicate_origins_collapse_in_order() -> None:
    assert normalise_origins(["https://b.example", "https://a.example", "https://B.example/"]) == (
        "https://b.example",
        "https://a.example",
    )


def test_relative_sqlite_url() -> None:
    parsed = parse_database_url("sqlite:///rapport.db")
    assert (parsed.backend, parsed.path) == ("sqlite", Path("rapport.db"))


def test_absolute_sqlite_url() -> None:
    assert parse_database_url("sqlite:////var/lib/rapport/x.db").path == Path(
        "/var/lib/rapport/x.db"
    )


def test_postgresql_url_is_kept_whole_and_redacted_for_display() -> None:
    parsed = parse_database_url("postgresql://app:secret@db.internal:5433/rapport")
    assert parsed.backend == "postgresql"
    assert parsed.dsn == "postgresql://app:secret@db.internal:5433/rapport"
    assert "secret" not in parsed.redacted()


def test_a_unix_socket_url_keeps_its_directory_and_drops_every_password_when_redacted() -> None:
    url = "postgresql://app:secret@/rapport?host=/run/postgresql&port=5433&password=hidden"
    parsed = parse_database_url(url)
    assert parsed.dsn == url
    assert parsed.redacted() == "postgresql://app@/rapport?host=/run/postgresql&port=5433"


def test_postgres_scheme_alias_is_accepted() -> None:
    assert parse_database_url("postgres://db/rapport").backend == "postgresql"


@pytest.mark.parametrize(
    "url",
    ["sqlite://rapport.db", "sqlite:///", "sqlite:///:memory:", "mysql://db/x", "rapport.db", ""],
)
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidDatabaseURL):
        parse_database_url(url)
