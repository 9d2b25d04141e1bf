"""Visitor rights: export and erase one's own data with the visitor secret, on both backends."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.client_py.identity import visitor_key_from_secret
from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.visitors.identity import is_valid_secret, secret_matches, visitor_id_from_secret
from tests.server.conftest import ORIGIN, Api, FakeClock, batch

#: The vector the client's mirror of the derivation must reproduce.
TEST_SECRET = "test-secret-0123456789abcdef"
TEST_VISITOR_ID = "1-dsGnRvi962aoPx-E7qV-"

HESITANT = {"kind": "pattern", "name": "hesitant", "score": 0.9}
CLICKS = {"kind": "clicks", "count": 3}


def test_visitor_id_derivation_test_vector() -> None:
    assert visitor_id_from_secret(TEST_SECRET) == TEST_VISITOR_ID
    assert secret_matches(TEST_SECRET, TEST_VISITOR_ID)
    assert not secret_matches(TEST_SECRET + "x", TEST_VISITOR_ID)


def test_derived_ids_are_valid_visitor_ids_and_secrets_are_checked() -> None:
    import re

    from rapport.client_py.schema import ID_PATTERN

    for _ in range(50):
        secret = secrets.token_urlsafe(16)
        assert is_valid_secret(secret)
        assert re.fullmatch(ID_PATTERN, visitor_id_from_secret(secret))
    assert not is_valid_secret("short")
    assert not is_valid_secret("x" * 30 + " ")


@pytest.fixture
def any_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL."""
    clock = FakeClock()
    settings = Settings(database_url=database_url, sdk_dir=tmp_path / "sdk")
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=tmp_path)


def new_visitor() -> tuple[str, str]:
    secret = secrets.token_urlsafe(16)
    return secret, visitor_id_from_secret(secret)


def send(api: Api, site_key: str, secret: str, signals: list[dict[str, Any]], bid: str) -> None:
    """One batch from the visitor whose browser holds ``secret`` (its worker holds the key)."""
    body = batch(site_key, signals, batch_id=bid) | {"key": visitor_key_from_secret(secret)}
    reply = api.collect(body)
    assert reply.status_code == 200, reply.text


def export(api: Api, site_key: str, visitor: str, secret: str | None, **headers: str) -> Any:
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return api.client.get(f"/v1/visitors/{visitor}", params={"site": site_key}, headers=headers)


def erase(api: Api, site_key: str, visitor: str, secret: str) -> Any:
    return api.client.delete(
        f"/v1/visitors/{visitor}",
        params={"site": site_key},
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_export_then_erase_then_export_shows_nothing(any_api: Api) -> None:
    site = any_api.add_site().site
    secret, visitor = new_visitor()
    send(any_api, site.site_key, secret, [HESITANT, CLICKS], "batch-aaaa0001")
    send(any_api, site.site_key, secret, [CLICKS], "batch-aaaa0002")

    reply = export(any_api, site.site_key, visitor, secret, Origin=ORIGIN)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["visitor"] == visitor and data["site"] == site.site_key
    reach = data["counts"]["report_reach"]  # the dashboard's distinct-visitor rows
    assert reach > 0
    stored = {"signals": 3, "batches": 2, "profiles": 1, "report_reach": reach}
    nothing = {"hint_log": 0, "hint_feedback": 0, "webhook_deliveries": 0}
    assert data["counts"] == stored | nothing
    assert [s["body"] for s in data["signals"]] == [HESITANT, CLICKS, CLICKS]
    assert {s["batch_id"] for s in data["signals"]} == {"batch-aaaa0001", "batch-aaaa0002"}
    assert all(s["received_at"] == any_api.clock() for s in data["signals"])
    assert sorted(b["batch_id"] for b in data["batches"]) == ["batch-aaaa0001", "batch-aaaa0002"]
    assert data["profiles"][0]["data"]["patterns"]["hesitant"]["score"] == 0.9
    assert (data["truncated"], data["next_page"]) == ([], None)

    reply = erase(any_api, site.site_key, visitor, secret)
    assert reply.status_code == 200, reply.text
    assert reply.json()["removed"] == stored | nothing

    data = export(any_api, site.site_key, visitor, secret).json()
    assert set(data["counts"].values()) == {0}
    assert data["signals"] == [] and data["batches"] == [] and data["profiles"] == []
    proof = {"Authorization": f"Bearer {visitor_key_from_secret(secret)}"}
    hints = any_api.client.get(
        f"/v1/hints/{visitor}", params={"site": site.site_key}, headers=proof
    )
    assert hints.json()["hints"] == []
    # Erasing again removes nothing and is not an error.
    assert set(erase(any_api, site.site_key, visitor, secret).json()["removed"].values()) == {0}


def test_erasure_leaves_other_visitors_and_sites_alone(any_api: Api) -> None:
    site_a = any_api.add_site().site
    site_b = any_api.add_site().site
    secret_x, x = new_visitor()
    secret_y, _ = new_visitor()
    send(any_api, site_a.site_key, secret_x, [CLICKS], "batch-x-a-0001")
    send(any_api, site_b.site_key, secret_x, [CLICKS, CLICKS], "batch-x-b-0001")
    send(any_api, site_a.site_key, secret_y, [CLICKS], "batch-y-a-0001")

    assert erase(any_api, site_a.site_key, x, secret_x).json()["removed"]["signals"] == 1
    assert any_api.count_signals(site_a.id) == 1  # y's
    assert any_api.count_signals(site_b.id) == 2  # x on site B is another record
    assert export(any_api, site_b.site_key, x, secret_x).json()["counts"]["signals"] == 2


def test_a_secret_only_opens_its_own_visitor(any_api: Api) -> None:
    site = any_api.add_site().site
    secret_x, x = new_visitor()
    secret_y, y = new_visitor()
    send(any_api, site.site_key, secret_y, [HESITANT], "batch-y-000001")

    for reply in (
        export(any_api, site.site_key, y, secret_x),
        erase(any_api, site.site_key, y, secret_x),
        export(any_api, site.site_key, y, "not-a-valid-secret!"),
        export(any_api, site.site_key, y, y),  # the id itself is not the secret
    ):
        assert reply.status_code == 403, reply.text
        assert reply.json()["field"] == "Authorization"
    reply = export(any_api, site.site_key, y, None)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"] == "Bearer"
    assert set(reply.json()) == {"error", "field"}
    # Nothing was erased by the refused attempts.
    assert export(any_api, site.site_key, y, secret_y).json()["counts"]["signals"] == 1
    assert export(any_api, site.site_key, x, secret_x).json()["counts"]["signals"] == 0


def test_site_keys_scope_visitor_data(any_api: Api) -> None:
    site_a = any_api.add_site(origins=(ORIGIN,)).site
    site_b = any_api.add_site(origins=("https://b.example",)).site
    secret, x = new_visitor()
    send(any_api, site_a.site_key, secret, [CLICKS], "batch-scope-001")

    # The same visitor on site B: nothing there.
    assert export(any_api, site_b.site_key, x, secret).json()["counts"]["signals"] == 0
    # Site A's page origin against site B's key: refused.
    reply = export(any_api, site_b.site_key, x, secret, Origin=ORIGIN)
    assert reply.status_code == 403
    assert reply.json()["error"].startswith("origin")
    # Unknown and malformed keys.
    assert export(any_api, "pk_unknown-key-0000", x, secret).status_code == 404
    reply = export(any_api, "nope", x, secret)
    assert reply.status_code == 422 and reply.json()["field"] == "site"
    reply = any_api.client.get(
        "/v1/visitors/bad id!", params={"site": site_a.site_key},
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip
    assert reply.status_code == 422 and reply.json()["field"] == "visitor"


def test_preflight_allows_the_authorization_header(any_api: Api) -> None:
    any_api.add_site()
    reply = any_api.client.options(
        "/v1/visitors/abcdefgh12345678",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert reply.status_code == 204
    assert "Authorization" in reply.headers["access-control-allow-headers"]
    assert "DELETE" in reply.headers["access-control-allow-methods"]
