"""The visitor id is derived from the browser's secret, the same way on both sides."""

from client_py.identity import is_valid_secret, visitor_id_from_secret


def test_the_id_of_a_known_secret_is_pinned() -> None:
    assert visitor_id_from_secret("test-secret-0123456789abcdef") == "iX_kmduSdM_GLkWSLGLfkd"


def test_ids_are_22_url_safe_characters() -> None:
    visitor = visitor_id_from_secret("another-secret-0123456789")
    assert len(visitor) == 22
    assert all(c.isalnum() or c in "-_" for c in visitor)


def test_a_short_or_non_url_safe_secret_is_not_valid() -> None:
    assert not is_valid_secret("short")
    assert not is_valid_secret("has spaces and is long enough to pass")
    assert is_valid_secret("A" * 22)
