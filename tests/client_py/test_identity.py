"""Secret → key → visitor id, derived the same way on both sides (the loader mirrors it)."""

from rapport.client_py.identity import (
    is_valid_key,
    is_valid_secret,
    visitor_id_from_key,
    visitor_id_from_secret,
    visitor_key_from_secret,
)

SECRET = "test-secret-0123456789abcdef"
KEY = "7xKfoCuM3IYgE1qLacddtXVmshvHtStsfxM3aI11cGs"
VISITOR = "1-dsGnRvi962aoPx-E7qV-"


def test_the_key_and_id_of_a_known_secret_are_pinned() -> None:
    assert visitor_key_from_secret(SECRET) == KEY
    assert visitor_id_from_key(KEY) == VISITOR == visitor_id_from_secret(SECRET)


def test_keys_are_43_and_ids_22_url_safe_characters() -> None:
    key = visitor_key_from_secret("another-secret-0123456789")
    visitor = visitor_id_from_key(key)
    assert is_valid_key(key) and len(visitor) == 22
    assert all(c.isalnum() or c in "-_" for c in key + visitor)


def test_the_key_is_not_the_id_and_the_id_is_not_the_key() -> None:
    assert visitor_id_from_key(VISITOR) != VISITOR and not is_valid_key(VISITOR)
    assert VISITOR not in KEY and KEY not in SECRET


def test_a_short_or_non_url_safe_secret_is_not_valid() -> None:
    assert not is_valid_secret("short")
    assert not is_valid_secret("has spaces and is long enough to pass")
    assert is_valid_secret("A" * 22)
