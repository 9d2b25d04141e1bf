"""Issue 18, findings 6–9: bad bytes, duplicate keys, header limits, Content-Type, the rate
budget, honest duplicates and the ops headers — each test names the finding it closes."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.json_body import duplicate_key
from tests.server.conftest import (
    METRICS_AUTH,
    METRICS_TOKEN,
    ORIGIN,
    OTHER_ORIGIN,
    Api,
    FakeClock,
    batch,
    id_of,
    key_of,
)
from tests.server.pg_cluster import free_port

CLICKS = {"kind": "clicks", "count": 3}
KEY = key_of("visitor-0001")  # the visitor key the worker sends (ids are derived from it)
#: A second visitor's key with its first character written as a JSON escape.
ESCAPED_KEY = f"\\u{ord(key_of('visitor-0002')[0]):04x}{key_of('visitor-0002')[1:]}"
HEAD = '{{"site": "{k}", "key": "' + KEY + '", "session": "session-0001", '
PROOF = {"Authorization": f"Bearer {KEY}"}


def _admin(site: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.admin_token}"}


def _app_api(tmp_path: Path, **settings: Any) -> tuple[TestClient[Any], Api]:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'h.db'}",
        "sdk_dir": tmp_path / "sdk",
        **settings,
    }
    app = create_app(Settings(**values), clock=FakeClock())
    client = TestClient(app)
    return client, Api(client=client, storage=app.state.services.storage, clock=FakeClock(),
                       sdk_dir=tmp_path)  # fmt: skip


# -- finding 6: invalid UTF-8 ------------------------------------------------------------------


def test_finding_6_invalid_utf8_is_400_with_one_log_line_on_every_json_route(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    site = api.add_site()
    key = site.site.site_key
    bad = b'{"visitor": "v\xff\xfe", "site": "' + key.encode() + b'"}'
    routes = [
        ("/v1/collect", {"Origin": ORIGIN, "Content-Type": "text/plain"}),
        ("/v1/feedback", {"Origin": ORIGIN, "Content-Type": "application/json"}),
        (f"/v1/admin/sites/{key}/outcomes", _admin(site)),
    ]
    for path, headers in routes:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            reply = api.client.post(path, content=bad, headers=headers)
        assert reply.status_code == 400, (path, reply.text)
        assert "not valid UTF-8" in reply.json()["error"] and reply.json()["field"] == "$"
        ours = [r for r in caplog.records if r.name.startswith("rapport.server")]
        assert len(ours) == 1, (path, [r.getMessage() for r in ours])
        assert ours[0].exc_info is None and "UTF-8" in ours[0].getMessage()
    # Bytes that are not UTF-8 in a query string: 400 as well, not a 500.
    reply = api.client.get(f"/v1/hints/visitor-0001?site={key}%ff")
    assert reply.status_code in (400, 422), reply.text


# -- finding 7: one charset --------------------------------------------------------------------


def test_finding_7_metrics_and_csv_export_send_charset_once(api: Api) -> None:
    site = api.add_site()
    api.collect(batch(site.site.site_key, [CLICKS]))
    metrics = api.client.get("/metrics", headers=METRICS_AUTH)
    assert metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    csv_reply = api.client.get(
        f"/v1/admin/sites/{site.site.site_key}/profiles?format=csv", headers=_admin(site)
    )
    assert csv_reply.status_code == 200
    assert csv_reply.headers["content-type"] == "text/csv; charset=utf-8"
    for reply in (metrics, csv_reply):
        assert reply.headers["content-type"].count("charset") == 1


# -- finding 8: rate budget, header size, duplicate keys, repeated parameters, batch ids ----


def test_finding_8_requests_from_a_foreign_origin_spend_no_site_budget(tmp_path: Path) -> None:
    client, api = _app_api(tmp_path, rate_per_site=1, rate_per_ip=0)
    with client:
        site = api.add_site()
        key = site.site.site_key
        foreign = [api.collect(batch(key, []), origin=OTHER_ORIGIN).status_code for _ in range(6)]
        foreign.append(
            client.get(
                f"/v1/hints/visitor-0001?site={key}", headers={"Origin": OTHER_ORIGIN}
            ).status_code
        )
        assert set(foreign) == {403}
        # The budget (1/s, burst 2) is intact for the site's own pages.
        assert [api.collect(batch(key, [])).status_code for _ in range(3)] == [200, 200, 429]


def test_finding_8_request_headers_over_the_limit_get_431(api: Api) -> None:
    site = api.add_site()
    body = batch(site.site.site_key, [CLICKS])
    huge = ORIGIN + "/" + "x" * (64 * 1024)
    reply = api.client.post("/v1/collect", json=body, headers={"Origin": huge})
    assert reply.status_code == 431
    assert "headers too large" in reply.json()["error"]
    many = {f"X-Filler-{i}": "y" * 200 for i in range(100)}
    assert api.client.get("/healthz", headers=many).status_code == 431
    assert api.collect(body).status_code == 200  # ordinary requests are untouched


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (HEAD + '"batch": "batch-0001", "signals": [], "site": "pk_other00000000000000"}}', "site"),
        (HEAD + '"batch": "batch-0002", '
         '"signals": [{{"kind": "clicks", "count": 1, "count": 9}}]}}',
         "count"),
        ('{{"site" : "{k}", "key": "' + KEY + '", "session": "session-0001", '
         '"batch": "batch-0003", "batch" : "batch-0004", "signals": []}}', "batch"),
        (HEAD + '"batch": "batch-0005", "signals": [], "key": "' + ESCAPED_KEY + '"}}', "key"),
    ],
)  # fmt: skip
def test_finding_8_duplicate_json_keys_are_400_naming_the_key(api: Api, raw: str, key: str) -> None:
    site = api.add_site()
    reply = api.collect(raw.format(k=site.site.site_key).encode())
    assert reply.status_code == 400, reply.text
    assert reply.json()["field"] == key and f"duplicate key '{key}'" in reply.json()["error"]
    assert api.count_signals(site.site.id) == 0


def test_finding_8_duplicate_keys_are_refused_on_feedback_and_outcomes_too(api: Api) -> None:
    site = api.add_site()
    key = site.site.site_key
    feedback = (
        f'{{"site": "{key}", "key": "{KEY}", "hint_id": "hesitant.reassure", '
        '"outcome": "helpful", "outcome": "dismissed"}'
    )
    reply = api.client.post("/v1/feedback", content=feedback, headers={"Origin": ORIGIN})
    assert reply.status_code == 400 and reply.json()["field"] == "outcome"
    outcome = '{"visitor": "visitor-0001", "kind": "order", "id": "A-1", "id": "A-2"}'
    reply = api.client.post(
        f"/v1/admin/sites/{key}/outcomes", content=outcome, headers=_admin(site)
    )
    assert reply.status_code == 400 and reply.json()["field"] == "id"


def test_unique_keys_with_whitespace_escapes_and_nulls_are_still_accepted(api: Api) -> None:
    site = api.add_site()
    key = site.site.site_key
    # Whitespace, escapes and an explicit null take the exact path; none is a duplicate.
    raw = (
        f'{{ "site" : "{key}", "key":"{KEY}", "session": "session\\u002d0001", '
        '"batch": "batch-0009", "signals": [{"kind": "dwell", "section": "price", '
        '"item": null, "seconds": 2}]}'
    )
    reply = api.collect(raw.encode())
    assert reply.status_code == 200, reply.text
    assert duplicate_key(b'{"a": {"b": 1}, "b": {"a": 2}}') is None
    assert duplicate_key(b'[{"a": 1}, {"a": 2}]') is None


def test_finding_8_repeated_query_parameters_are_400(api: Api) -> None:
    a, b = api.add_site(), api.add_site()
    hints = f"/v1/hints/visitor-0001?site={a.site.site_key}&site={b.site.site_key}"
    reply = api.client.get(hints)
    assert reply.status_code == 400 and reply.json()["field"] == "site"
    export = f"/v1/admin/sites/{a.site.site_key}/profiles?format=json&format=csv"
    reply = api.client.get(export, headers=_admin(a))
    assert reply.status_code == 400 and reply.json()["field"] == "format"
    hints = f"/v1/hints/{id_of('visitor-0001')}?site={a.site.site_key}"
    assert api.client.get(hints, headers=PROOF).status_code == 200


def test_finding_8_a_batch_id_used_by_another_visitor_is_409_not_a_duplicate(
    database_url: str, tmp_path: Path
) -> None:
    client, api = _app_api(tmp_path, database_url=database_url)
    with client:
        site = api.add_site()
        key = site.site.site_key
        first = batch(key, [CLICKS, CLICKS], visitor="visitor-aaaa", batch_id="batch-shared-1")
        assert api.collect(first).json()["accepted"] == 2
        other = batch(key, [CLICKS, CLICKS, CLICKS], visitor="visitor-bbbb",
                      batch_id="batch-shared-1")  # fmt: skip
        reply = api.collect(other)
        assert reply.status_code == 409, reply.text
        assert reply.json()["field"] == "$.batch" and "nothing was stored" in reply.json()["error"]
        # A real retry of the first visitor's batch: a duplicate, with what is stored.
        again = api.collect({**first, "signals": [CLICKS]})
        assert again.status_code == 200
        assert (again.json()["duplicate"], again.json()["accepted"]) == (True, 2)
        assert api.count_signals(site.site.id) == 2


# -- finding 9: ops ----------------------------------------------------------------------------


def test_finding_9_metrics_need_the_token_or_a_loopback_client(tmp_path: Path) -> None:
    client, _ = _app_api(tmp_path, metrics_token=METRICS_TOKEN)
    with client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert client.get("/metrics", headers=METRICS_AUTH).status_code == 200
    client, _ = _app_api(tmp_path / "b")
    with client:  # no token: the TestClient is not a loopback address
        reply = client.get("/metrics")
        assert reply.status_code == 403 and "--metrics-token" in reply.json()["error"]


def test_finding_9_nosniff_everywhere_and_no_store_on_exports(api: Api) -> None:
    site = api.add_site()
    key = site.site.site_key
    replies = [
        api.collect(batch(key, [CLICKS])),
        api.collect(batch(key, []), origin=OTHER_ORIGIN),
        api.client.get("/healthz"),
        api.client.get("/nowhere"),
        api.client.get("/sdk/rapport.js"),
        api.client.get("/schema"),
        api.client.get("/metrics", headers=METRICS_AUTH),
        api.client.options("/v1/collect", headers={"Origin": ORIGIN}),
    ]
    for reply in replies:
        assert reply.headers.get("x-content-type-options") == "nosniff", reply.request.url
    exports = [
        api.client.get(f"/v1/admin/sites/{key}/profiles", headers=_admin(site)),
        api.client.get(f"/v1/admin/sites/{key}/profiles?format=csv", headers=_admin(site)),
        api.client.get(f"/v1/admin/sites/{key}/stats", headers=_admin(site)),
        api.client.get(f"/v1/visitors/visitor-0001?site={key}"),
    ]
    for reply in exports:
        assert reply.headers.get("cache-control") == "no-store", reply.request.url


def test_finding_9_admin_routes_answer_no_cors_unless_enabled(tmp_path: Path) -> None:
    for enabled in (False, True):
        client, api = _app_api(tmp_path / str(enabled), admin_cors=enabled)
        with client:
            site = api.add_site()
            path = f"/v1/admin/sites/{site.site.site_key}/profiles"
            preflight = client.options(path, headers={"Origin": ORIGIN})
            reply = client.get(path, headers={"Origin": ORIGIN, **_admin(site)})
            assert reply.status_code == 200
            allowed = reply.headers.get("access-control-allow-origin")
            assert (preflight.status_code, allowed) == ((204, ORIGIN) if enabled else (403, None))
            # The public API keeps its CORS either way.
            hints = client.get(f"/v1/hints/visitor-0001?site={site.site.site_key}",
                               headers={"Origin": ORIGIN})  # fmt: skip
            assert hints.headers["access-control-allow-origin"] == ORIGIN


def test_finding_9_api_reference_loads_no_third_party_script(api: Api) -> None:
    assert api.client.get("/schema/scalar").status_code == 404
    for path in ("/schema", "/schema/openapi.json"):
        reply = api.client.get(path)
        assert reply.status_code == 200
        assert not re.search(r"<script[^>]+src=", reply.text)
    assert "cdn." not in api.client.get("/schema").text


def _serve(tmp_path: Path, name: str, *flags: str) -> tuple[str, str]:
    """Run ``rapport serve`` with ``flags``; ask /metrics and /v1/hints as if proxied for
    203.0.113.9; return (the /metrics status and the hints path, the server's log)."""
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "rapport.server", "serve", "--port", str(port), "--database",
             f"sqlite:///{tmp_path / (name + '.db')}", "--log-level", "info", *flags],
            stdout=log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        status = httpx.get(f"{base}/metrics", headers=forwarded, timeout=10).status_code
        httpx.get(f"{base}/v1/hints/visitor-logged-1?site=pk_nosuchsite00000000", timeout=10,
                  headers=forwarded)  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)
    return str(status), log_path.read_text(encoding="utf-8", errors="replace")


def test_finding_9_access_log_has_no_client_ip_and_x_forwarded_for_needs_a_trusted_proxy(
    tmp_path: Path,
) -> None:
    # Defaults: the peer (127.0.0.1) is the client whatever X-Forwarded-For says, and access
    # lines show "-" for it.
    status, log = _serve(tmp_path, "default")
    assert status == "200"  # a loopback client: X-Forwarded-For was not believed
    [line] = [x for x in log.splitlines() if "visitor-logged-1" in x]
    assert '- - "GET /v1/hints/visitor-logged-1' in line
    assert "127.0.0.1" not in line and "203.0.113.9" not in line
    # Behind a trusted proxy the forwarded address is the client; hashed in the log.
    status, log = _serve(tmp_path, "proxied", "--trusted-proxy", "127.0.0.1",
                         "--access-log-ip", "hash")  # fmt: skip
    assert status == "403"  # 203.0.113.9 is not loopback: /metrics refused
    [line] = [x for x in log.splitlines() if "visitor-logged-1" in x]
    assert re.search(r'ip-[0-9a-f]{12} - "GET /v1/hints/visitor-logged-1', line), line
    assert "203.0.113.9" not in line and "127.0.0.1" not in line


@pytest.mark.parametrize(
    ("route", "advice"),
    [
        ("/v1/feedback", "send one hint's outcome"),
        ("/v1/admin/sites/{key}/outcomes", "send one outcome per request"),
    ],
)
def test_an_oversized_feedback_or_outcome_is_413_saying_what_to_send(
    api: Api, route: str, advice: str
) -> None:
    site = api.add_site()
    headers = {"Origin": ORIGIN, "Authorization": f"Bearer {site.admin_token}"}
    reply = api.client.post(
        route.format(key=site.site.site_key), content=b" " * (64 * 1024 + 1), headers=headers
    )
    assert reply.status_code == 413
    assert reply.json() == {"error": f"body larger than 65536 bytes: {advice}", "field": "$"}


def test_a_collect_body_with_an_unreadable_length_is_400_naming_it(api: Api) -> None:
    api.add_site()
    reply = api.client.post(
        "/v1/collect",
        content=b"{}",
        headers={"Origin": ORIGIN, "Content-Type": "application/json", "Content-Length": "2x"},
    )
    assert reply.status_code == 400
    assert "Content-Length" in reply.json()["error"]
