"""``POST /v1/collect`` against the real app and a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapport.client_py.schema import MAX_SIGNALS_PER_BATCH
from tests.server.conftest import ORIGIN, id_of, key_of

OTHER_ORIGIN = "https://other.example"
HESITANT = {"kind": "pattern", "name": "hesitant", "score": 0.74}
#: The default playbook needs two evidence features besides the score (docs/hints.md).
HESITANT_EVIDENCE = [
    {"kind": "evidence", "pattern": "hesitant", "feature": f, "points": 0.3}
    for f in ("dwell_price", "price_returns_loops")
]

MakeBatch = Callable[..., dict[str, Any]]


def test_valid_batch_with_no_signals_is_accepted_with_a_hints_list(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [], batch_id="batch-empty1")
    reply = api.collect(body)
    assert reply.status_code == 200
    assert reply.json() == {"batch": "batch-empty1", "accepted": 0, "duplicate": False, "hints": []}


def test_the_reply_is_json_of_its_declared_length_with_the_apis_headers(
    api: Any, make_batch: MakeBatch
) -> None:
    """The route returns its reply ready-encoded (server/json_reply.py), past Litestar's own
    response path: what that path would add must still be there."""
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key, [], batch_id="batch-headers"))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert int(reply.headers["content-length"]) == len(reply.content)
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["vary"] == "Origin"
    assert reply.json()["batch"] == "batch-headers"


def test_valid_batch_is_stored_and_counted(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    signals = [
        {"kind": "dwell", "section": "returns", "seconds": 12.5},
        {"kind": "dwell", "section": "price", "item": "sku-123", "seconds": 3},
        {"kind": "scroll", "depth": 0.5},
        {"kind": "clicks", "count": 4},
    ]
    reply = api.collect(make_batch(site.site.site_key, signals, batch_id="batch-full01"))
    assert reply.status_code == 200
    assert reply.json()["accepted"] == 4
    assert api.count_signals(site.site.id, "batch-full01") == 4


def test_retried_batch_is_reported_duplicate_and_stored_once(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "clicks", "count": 1}] * 3)
    first = api.collect(body)
    second = api.collect(body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert api.count_signals(site.site.id) == 3


def test_text_plain_body_is_accepted_for_beacons(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key), content_type="text/plain;charset=UTF-8")
    assert reply.status_code == 200


def test_form_content_type_is_refused_with_415(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(
        make_batch(site.site.site_key), content_type="application/x-www-form-urlencoded"
    )
    assert reply.status_code == 415
    assert reply.json()["field"] is None


def test_unknown_signal_field_is_refused_naming_the_field(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "scroll", "depth": 0.5, "foo": 1}])
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].foo"
    assert "foo" in reply.json()["error"]


def test_unknown_top_level_field_is_refused_naming_the_field(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key) | {"url": "https://shop.example/?q=secret"}
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.url"


def test_wrong_type_is_refused_with_the_fields_path(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(
        site.site.site_key, [{"kind": "dwell", "section": "faq", "seconds": "twelve"}]
    )
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].seconds"


def test_out_of_range_number_is_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "pattern", "name": "hesitant", "score": 1.5}])
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].score"


def test_boolean_is_never_a_number(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "clicks", "count": True}])
    assert api.collect(body).status_code == 422


def test_fraction_is_refused_for_an_integer_field(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "clicks", "count": 2.0}])
    assert api.collect(body).status_code == 422


def test_value_outside_the_vocabulary_is_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "dwell", "section": "basket", "seconds": 1}])
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].section"


def test_unknown_signal_kind_is_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key, [{"kind": "keystrokes", "text": "hi"}]))
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].kind"


def test_free_text_in_a_key_field_is_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "action", "name": "add to cart"}])
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals[0].name"
    assert "\\A" not in reply.json()["error"]  # the shared schema's pattern is shown


def test_malformed_key_and_ids_are_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key) | {"key": "visitor-0001"}  # an id is not a key
    reply = api.collect(body)
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.key"
    reply = api.collect(make_batch(site.site.site_key, session="short"))
    assert (reply.status_code, reply.json()["field"]) == (422, "$.session")


def test_too_many_signals_are_refused(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    signals = [{"kind": "scroll", "depth": 0.1}] * (MAX_SIGNALS_PER_BATCH + 1)
    reply = api.collect(make_batch(site.site.site_key, signals))
    assert reply.status_code == 422
    assert reply.json()["field"] == "$.signals"


def test_malformed_json_is_refused_with_400(api: Any) -> None:
    api.add_site()
    reply = api.collect(b'{"site": "pk_', content_type="text/plain")
    assert reply.status_code == 400
    assert reply.json()["field"] is None
    assert reply.json()["error"].startswith("malformed JSON")


def test_oversized_body_is_refused_with_413_in_the_error_shape(api: Any) -> None:
    api.add_site()
    reply = api.collect(b" " * (64 * 1024 + 1))
    assert reply.status_code == 413
    assert reply.json() == {
        "error": "body larger than 65536 bytes: send fewer signals per batch",
        "field": "$",
    }


def test_a_body_sent_without_a_length_is_refused_with_413_once_it_grows_past_the_limit(
    api: Any,
) -> None:
    api.add_site()
    chunks = (b" " * 16 * 1024 for _ in range(5))  # chunked: no Content-Length to check first
    reply = api.client.post(
        "/v1/collect",
        content=chunks,
        headers={"Content-Type": "application/json", "Origin": ORIGIN},
    )
    assert reply.status_code == 413
    assert reply.json()["field"] == "$"


def test_unknown_site_key_is_refused_with_404(api: Any, make_batch: MakeBatch) -> None:
    api.add_site()
    reply = api.collect(make_batch("pk_unknown-site-key"))
    assert reply.status_code == 404
    assert reply.json() == {"error": "unknown site key", "field": "$.site"}


def test_disallowed_origin_is_refused_and_nothing_is_stored(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    body = make_batch(site.site.site_key, [{"kind": "clicks", "count": 1}])
    reply = api.collect(body, origin=OTHER_ORIGIN)
    assert reply.status_code == 403
    assert OTHER_ORIGIN in reply.json()["error"]
    assert api.count_signals(site.site.id) == 0


def test_origin_of_another_site_cannot_use_this_sites_key(api: Any, make_batch: MakeBatch) -> None:
    mine = api.add_site(origins=("https://shop.example",))
    api.add_site(origins=(OTHER_ORIGIN,))
    reply = api.collect(make_batch(mine.site.site_key), origin=OTHER_ORIGIN)
    assert reply.status_code == 403


def test_missing_origin_is_refused_with_403(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    reply = api.collect(make_batch(site.site.site_key), origin=None)
    assert reply.status_code == 403
    assert "Origin" in reply.json()["error"]


def test_the_api_stores_and_hints_on_postgresql_too(postgres_url: str, tmp_path: Any) -> None:
    from litestar.testing import TestClient

    from rapport.server.app import create_app
    from rapport.server.config import Settings

    app = create_app(Settings(database_url=postgres_url, sdk_dir=tmp_path))
    with TestClient(app) as client:
        storage = app.state.services.storage
        created = client.blocking_portal.call(
            lambda: storage.create_site("Shop", ["https://shop.example"], now=1.0)
        )
        body = {
            "site": created.site.site_key,
            "key": key_of("visitor-0001"),
            "session": "session-0001",
            "batch": "batch-0001",
            "signals": [HESITANT, *HESITANT_EVIDENCE],
        }
        headers = {"Origin": "https://shop.example"}
        first = client.post("/v1/collect", json=body, headers=headers)
        second = client.post("/v1/collect", json=body, headers=headers)
        hints = client.get(
            f"/v1/hints/{id_of('visitor-0001')}",
            params={"site": created.site.site_key},
            headers={**headers, "Authorization": f"Bearer {key_of('visitor-0001')}"},
        )
        health = client.get("/healthz")
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert [h["id"] for h in hints.json()["hints"]] == ["hesitant.reassure"]
    assert health.json()["database"] == "postgresql"
