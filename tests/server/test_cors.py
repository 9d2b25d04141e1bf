"""Per-site CORS on ``/v1/*``: preflights, allow-origin on replies, and Vary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ORIGIN = "https://shop.example"

MakeBatch = Callable[..., dict[str, Any]]


def preflight(api: Any, origin: str, path: str = "/v1/collect") -> Any:
    return api.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_preflight_from_a_sites_origin_is_allowed(api: Any) -> None:
    api.add_site()
    reply = preflight(api, ORIGIN)
    assert reply.status_code == 204
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert set(reply.headers["access-control-allow-methods"].split(", ")) >= {
        "POST",
        "GET",
        "DELETE",
    }
    assert reply.headers["access-control-allow-headers"] == "Content-Type, Authorization"
    assert "Origin" in reply.headers["vary"]


def test_preflight_for_the_hints_endpoint_is_allowed(api: Any) -> None:
    api.add_site()
    assert preflight(api, ORIGIN, "/v1/hints/visitor-0001").status_code == 204


def test_preflight_from_an_unknown_origin_is_refused(api: Any) -> None:
    api.add_site()
    reply = preflight(api, "https://evil.example")
    assert reply.status_code == 403
    assert "access-control-allow-origin" not in reply.headers


def test_reply_to_an_allowed_origin_names_that_origin(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key))
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in reply.headers["vary"]


def test_error_reply_to_an_allowed_origin_is_readable(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key, [{"kind": "nope"}]))
    assert reply.status_code == 422
    assert reply.headers["access-control-allow-origin"] == ORIGIN


def test_reply_to_an_unknown_origin_has_no_allow_origin(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key), origin="https://evil.example")
    assert reply.status_code == 403
    assert "access-control-allow-origin" not in reply.headers
    assert "Origin" in reply.headers["vary"]


def test_sdk_is_not_subject_to_site_cors(api: Any) -> None:
    api.sdk_dir.mkdir()
    (api.sdk_dir / "rapport.js").write_text("// sdk")
    reply = api.client.get("/sdk/rapport.js", headers={"Origin": "https://anyone.example"})
    assert reply.headers["access-control-allow-origin"] == "*"
