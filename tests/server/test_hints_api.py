"""Hints in the collect reply and from ``GET /v1/hints/{visitor}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ORIGIN = "https://shop.example"
HESITANT_SCORE = {"kind": "pattern", "name": "hesitant", "score": 0.74}
EVIDENCE = [
    {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3},
    {"kind": "evidence", "pattern": "hesitant", "feature": "price_returns_loops", "points": 0.25},
]
ADD_TO_CART = {"kind": "action", "name": "add_to_cart", "value": 59.9, "currency": "EUR"}

MakeBatch = Callable[..., dict[str, Any]]


def get_hints(api: Any, visitor: str, site_key: str, origin: str | None = ORIGIN) -> Any:
    """Hints of the test visitor named ``visitor``, proven by its key (see conftest)."""
    headers = {"Origin": origin} if origin else {}
    if visitor == "bad id!":
        return api.client.get(f"/v1/hints/{visitor}", params={"site": site_key}, headers=headers)
    return api.hints(site_key, visitor, **headers)


def test_hesitant_visitor_gets_a_reassure_hint_in_the_collect_reply(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key, [HESITANT_SCORE, *EVIDENCE]))
    assert reply.status_code == 200
    assert reply.json()["hints"] == [
        {
            "id": "hesitant.reassure",
            "kind": "reassure",
            "pattern": "hesitant",
            "strength": 0.74,
            "source": "behaviour",
            "reasons": [
                "hesitating before buying",
                "hesitant score 0.74 ≥ 0.60, 2 evidence features ≥ 2, "
                "no add_to_cart/purchase this session",
                "rule hesitant.reassure",
            ],
            "expires_at": int(api.clock() + 30 * 60),
            "version": 2,
            "rule": "hesitant.reassure",
            "evidence": [
                {"feature": "score:hesitant", "value": 0.74, "threshold": 0.6},
                {"feature": "evidence:dwell_price", "value": 0.3, "threshold": None},
                {"feature": "evidence:price_returns_loops", "value": 0.25, "threshold": None},
            ],
            "chat": reply.json()["hints"][0]["chat"],
            "also": ["emphasise:returns", "emphasise:warranty"],
        }
    ]
    assert reply.json()["hints"][0]["chat"]["tone"] == "reassuring"


def test_hesitant_visitors_hint_is_served_by_get_hints(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    api.collect(make_batch(site.site.site_key, [HESITANT_SCORE, *EVIDENCE], visitor="visitor-hint"))
    reply = get_hints(api, "visitor-hint", site.site.site_key)
    assert reply.status_code == 200
    assert [h["id"] for h in reply.json()["hints"]] == ["hesitant.reassure"]


def test_add_to_cart_in_the_same_session_suppresses_the_hint(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    api.collect(make_batch(site.site.site_key, [HESITANT_SCORE, *EVIDENCE]))
    reply = api.collect(make_batch(site.site.site_key, [ADD_TO_CART]))
    assert reply.json()["hints"] == []
    assert get_hints(api, "visitor-0001", site.site.site_key).json() == {"hints": []}


def test_low_hesitant_score_gives_no_hint(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    signal = {"kind": "pattern", "name": "hesitant", "score": 0.59}
    body = make_batch(site.site.site_key, [signal, *EVIDENCE])
    assert api.collect(body).json()["hints"] == []


def test_a_high_score_without_evidence_gives_no_hint(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    assert api.collect(make_batch(site.site.site_key, [HESITANT_SCORE])).json()["hints"] == []


def test_hint_expires_thirty_minutes_after_the_score(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    api.collect(make_batch(site.site.site_key, [HESITANT_SCORE, *EVIDENCE]))
    api.clock.advance(30 * 60 + 1)
    assert get_hints(api, "visitor-0001", site.site.site_key).json() == {"hints": []}


def test_a_site_key_cannot_read_another_sites_visitor(api: Any, make_batch: MakeBatch) -> None:
    site_a = api.add_site(origins=(ORIGIN,))
    site_b = api.add_site(origins=("https://b.example",))
    body = make_batch(site_b.site.site_key, [HESITANT_SCORE, *EVIDENCE], visitor="visitor-of-b")
    assert api.collect(body, origin="https://b.example").json()["hints"]
    reply = get_hints(api, "visitor-of-b", site_a.site.site_key)
    assert reply.status_code == 200
    assert reply.json() == {"hints": []}


def test_get_hints_from_a_disallowed_origin_is_refused(api: Any) -> None:
    site = api.add_site()
    reply = get_hints(api, "visitor-0001", site.site.site_key, origin="https://evil.example")
    assert reply.status_code == 403


def test_get_hints_without_origin_is_allowed_for_server_side_callers(api: Any) -> None:
    site = api.add_site()
    assert get_hints(api, "visitor-0001", site.site.site_key, origin=None).status_code == 200


def test_get_hints_with_an_unknown_site_key_is_404(api: Any) -> None:
    api.add_site()
    reply = get_hints(api, "visitor-0001", "pk_unknown-site-key")
    assert reply.status_code == 404
    assert reply.json()["field"] == "site"


def test_get_hints_without_a_site_key_is_422(api: Any) -> None:
    reply = api.client.get("/v1/hints/visitor-0001")
    assert reply.status_code == 422
    assert reply.json()["field"] == "site"


def test_get_hints_with_a_malformed_visitor_id_is_422(api: Any) -> None:
    site = api.add_site()
    reply = get_hints(api, "bad id!", site.site.site_key)
    assert reply.status_code == 422
    assert reply.json()["field"] == "visitor"
