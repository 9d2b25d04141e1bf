"""Error paths from msgspec messages, site keys, and the site cache."""

from __future__ import annotations

import re

import pytest

from rapport.client_py.schema import SITE_KEY_PATTERN
from rapport.server.errors import field_from_message
from rapport.server.sites import (
    admin_token_matches,
    hash_admin_token,
    new_admin_token,
    new_site_key,
)
from rapport.server.sites.directory import SiteDirectory
from rapport.server.storage import create_storage


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("Object contains unknown field `foo` - at `$.signals[0]`", "$.signals[0].foo"),
        ("Object contains unknown field `foo`", "$.foo"),
        ("Object contains unknown field `a b` - at `$.signals[2]`", '$.signals[2]["a b"]'),
        ("Object missing required field `seconds` - at `$.signals[0]`", "$.signals[0].seconds"),
        ("Expected `float`, got `str` - at `$.signals[0].seconds`", "$.signals[0].seconds"),
        ("Expected `array` of length <= 200 - at `$.signals`", "$.signals"),
        ("Expected `object`, got `array`", None),
    ],
)
def test_field_path_is_derived_from_the_msgspec_message(message: str, field: str | None) -> None:
    assert field_from_message(message) == field


def test_site_keys_match_the_shared_pattern_and_are_unique() -> None:
    keys = {new_site_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(re.fullmatch(SITE_KEY_PATTERN, key) for key in keys)


def test_admin_tokens_are_stored_as_sha256_hex() -> None:
    token = new_admin_token()
    stored = hash_admin_token(token)
    assert token.startswith("sk_") and re.fullmatch(r"[0-9a-f]{64}", stored)
    assert admin_token_matches(token, stored)
    assert not admin_token_matches(token + "x", stored)


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_site_cache_finds_a_site_created_after_a_miss(tmp_path: object) -> None:
    async with create_storage(f"sqlite:///{tmp_path}/cache.db") as storage:
        sites = SiteDirectory(storage, clock=Tick())
        assert await sites.by_key("pk_not-yet-created") is None
        created = await storage.create_site("Shop", ["https://shop.example"], now=1.0)
        assert await sites.by_key(created.site.site_key) == created.site


@pytest.mark.anyio
async def test_known_origins_refresh_on_a_miss_at_most_once_per_interval(
    tmp_path: object,
) -> None:
    clock = Tick()
    async with create_storage(f"sqlite:///{tmp_path}/cache.db") as storage:
        sites = SiteDirectory(storage, ttl=60.0, miss_refresh=1.0, clock=clock)
        assert not await sites.is_known_origin("https://shop.example")
        await storage.create_site("Shop", ["https://shop.example"], now=1.0)
        assert not await sites.is_known_origin("https://shop.example")  # within the interval
        clock.now = 1.5
        assert await sites.is_known_origin("https://shop.example")
