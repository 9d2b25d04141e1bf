"""``POST /v1/collect`` with camera affect windows answers face-sourced hints (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.server.app import create_app
from rapport.server.config import Settings
from tests.server.conftest import batch, id_of, key_of, secret_of, treated_visitor

ORIGIN = "https://shop.example"


def affect(dominant: str, valence: float, section: str = "price") -> dict[str, Any]:
    return {
        "kind": "affect", "seconds": 5.0, "frames": 25, "presence": 1.0, "attention": 0.9,
        "dominant": dominant, "valence": valence, "arousal": 0.4, "micro": 0, "section": section,
    }  # fmt: skip


@pytest.fixture
def shop(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient[Any], str, int]]:
    app = create_app(Settings(database_url=database_url, sdk_dir=tmp_path / "sdk"))
    with TestClient(app) as client:
        storage = app.state.services.storage
        created = client.blocking_portal.call(
            lambda: storage.create_site("Face shop", [ORIGIN], now=1.0)
        )
        yield client, created.site.site_key, created.site.id


def collect(client: TestClient[Any], site_key: str, visitor: str, signals: list[Any]) -> Any:
    """One batch from the test visitor named ``visitor`` (proven by ``key_of(visitor)``)."""
    body = batch(site_key, signals, visitor=visitor)
    reply = client.post("/v1/collect", json=body, headers={"Origin": ORIGIN})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_three_negative_windows_at_the_price_answer_a_face_hint(
    shop: tuple[TestClient[Any], str, int],
) -> None:
    client, site_key, site_id = shop
    visitor = treated_visitor(site_id, "upset")
    windows = [affect("angry", -0.45), affect("sad", -0.5), affect("angry", -0.3)]
    reply = collect(client, site_key, visitor, windows)
    [hint] = reply["hints"]
    assert (hint["source"], hint["id"], hint["kind"]) == ("face", "face_frustrated.reassure",
                                                          "reassure")  # fmt: skip
    assert {"feature": "face:valence", "value": -0.42, "threshold": -0.25} in hint["evidence"]
    assert hint["reasons"][0].startswith("looked frustrated for 15 s while reading the price")
    assert hint["chat"]["tone"] == "empathetic"
    assert hint["chat"]["directive"]["ru"]
    proof = {"Origin": ORIGIN, "Authorization": f"Bearer {key_of(visitor)}"}
    again = client.get(f"/v1/hints/{id_of(visitor)}", params={"site": site_key}, headers=proof)
    assert [h["source"] for h in again.json()["hints"]] == ["face"]


def test_the_same_visitor_with_neutral_windows_gets_no_hint(
    shop: tuple[TestClient[Any], str, int],
) -> None:
    client, site_key, site_id = shop
    visitor = treated_visitor(site_id, "calm")
    reply = collect(client, site_key, visitor, [affect("neutral", 0.0)] * 3)
    assert reply["hints"] == []


def test_affect_windows_are_in_the_visitors_export_and_gone_after_erase(
    shop: tuple[TestClient[Any], str, int],
) -> None:
    client, site_key, _ = shop
    secret, visitor = secret_of("affect-0001"), id_of("affect-0001")
    collect(client, site_key, "affect-0001", [affect("angry", -0.45)] * 3)
    headers = {"Origin": ORIGIN, "Authorization": f"Bearer {secret}"}
    url = f"/v1/visitors/{visitor}"
    exported = client.get(url, params={"site": site_key}, headers=headers)
    assert exported.status_code == 200, exported.text
    [stored] = exported.json()["profiles"]
    profile = stored["data"]
    assert profile["current"]["affect"]["sections"]["price"]["windows"] == 3
    assert "baseline" in profile["face"]
    assert client.delete(url, params={"site": site_key}, headers=headers).status_code == 200
    again = client.get(url, params={"site": site_key}, headers=headers).json()
    assert again["profiles"] == []
