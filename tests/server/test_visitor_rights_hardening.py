"""Issue 18, findings 1–4: visitor rights that cannot stall the server, an outcome keyspace of
its own, hints/feedback/collect bound to the visitor key, and erase/export over every table
that mentions a visitor — on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.client_py.identity import visitor_key_from_secret
from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.hints import store as hint_store
from rapport.server.storage import Storage, create_storage
from rapport.server.storage.base import HintLogRow
from rapport.server.storage.visitor_tables import ROWS_BEHIND_VIEWS, VISITOR_TABLES
from rapport.server.visitors.identity import visitor_id_from_secret
from rapport.server.visitors.limits import ExportPace
from rapport.server.webhooks import enqueue_events
from rapport.server.webhooks import store as webhook_store
from tests.server.conftest import (
    ORIGIN,
    Api,
    FakeClock,
    batch,
    id_of,
    secret_of,
    treated_visitor,
)

CLICKS = {"kind": "clicks", "count": 3}
HESITANT = {"kind": "pattern", "name": "hesitant", "score": 0.9}
MakeApi = Callable[..., Api]


@pytest.fixture
def make_api(database_url: str, tmp_path: Path) -> Iterator[MakeApi]:
    """The app on SQLite and on PostgreSQL, with settings of the test's choosing."""
    clients: list[TestClient[Any]] = []

    def make(**settings: Any) -> Api:
        clock = FakeClock()
        app = create_app(
            Settings(database_url=database_url, sdk_dir=tmp_path / "sdk", **settings), clock=clock
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=tmp_path)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def new_visitor() -> tuple[str, str]:
    secret = secrets.token_urlsafe(16)
    return secret, visitor_id_from_secret(secret)


def _batch_of(site_key: str, secret: str, signals: list[Any], bid: str | None = None) -> Any:
    """A collect body as the loader's worker sends it: the key, never the secret or the id."""
    return batch(site_key, signals, batch_id=bid) | {"key": visitor_key_from_secret(secret)}


def send(api: Api, site_key: str, secret: str, signals: list[Any], bid: str) -> None:
    reply = api.collect(_batch_of(site_key, secret, signals, bid))
    assert reply.status_code == 200, reply.text


def rights(api: Api, method: str, site_key: str, secret: str, **params: Any) -> Any:
    return api.client.request(
        method,
        f"/v1/visitors/{visitor_id_from_secret(secret)}",
        params={"site": site_key, **params},
        headers={"Authorization": f"Bearer {secret}"},
    )


# -- finding 1: export stalls the server ------------------------------------------------------


def test_finding_1_export_is_paged_with_a_cap_per_table_and_misses_nothing(
    make_api: MakeApi,
) -> None:
    api = make_api(export_max_rows=4)
    site = api.add_site().site
    secret, visitor = new_visitor()
    for n in range(5):
        send(api, site.site_key, secret, [CLICKS, HESITANT], f"batch-page-{n:04d}")

    pages, page = [], 0
    while page is not None:
        reply = rights(api, "GET", site.site_key, secret, page=page)
        assert reply.status_code == 200, reply.text
        assert reply.headers["cache-control"] == "no-store"
        pages.append(reply.json())
        page = pages[-1]["next_page"]
    assert len(pages) == 3
    assert pages[0]["truncated"] == ["signals", "batches"]  # reach: one row per visitor-hour
    assert [p["counts"]["signals"] for p in pages] == [4, 4, 2]
    signals = [(s["batch_id"], s["kind"]) for p in pages for s in p["signals"]]
    assert len(signals) == len(set(signals)) == 10
    assert sum(p["counts"]["batches"] for p in pages) == 5
    assert pages[0]["visitor"] == visitor and pages[0]["profiles"][0]["data"]["patterns"]


def _indexes(storage: Storage) -> Callable[[str], Any]:
    async def leading_columns(table: str) -> set[tuple[str, ...]]:
        if storage.backend == "sqlite":
            found = set()
            for _, name, *_ in await storage.sql_fetch(f"PRAGMA index_list({table})"):
                info = await storage.sql_fetch(f"PRAGMA index_info({name})")
                found.add(tuple(str(row[2]) for row in sorted(info)))
            return found
        rows = await storage.sql_fetch(
            "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
            "WHERE c.relname = ? GROUP BY i.indexrelid",
            (table,),
        )
        return {tuple(row[0]) for row in rows}

    return leading_columns


def test_finding_1_every_visitor_table_is_indexed_by_site_and_visitor(make_api: MakeApi) -> None:
    """Signals are the exception: found through the visitor's batches (indexed by visitor,
    then by the first signal's id) and each batch's id span (the table's own key)."""
    api = make_api()
    leading_columns = _indexes(api.storage)
    for table in VISITOR_TABLES:
        indexes = api.run(lambda t=table.name: leading_columns(t))  # type: ignore[misc]
        if table.through_batches:
            assert not any("visitor" in cols for cols in indexes), (table.name, indexes)
            continue
        assert any(cols[:2] == ("site_id", "visitor") for cols in indexes), (table.name, indexes)
    batches = api.run(lambda: leading_columns("batches"))
    assert ("site_id", "visitor", "first_signal") in batches


def test_finding_1_rights_calls_are_limited_per_visitor_and_per_ip(make_api: MakeApi) -> None:
    api = make_api(rights_per_minute_per_visitor=2, rights_per_minute_per_ip=5)
    site = api.add_site().site
    secret, _ = new_visitor()
    statuses = [rights(api, "GET", site.site_key, secret).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Other visitors from the same address share its budget.
    others = [rights(api, "DELETE", site.site_key, new_visitor()[0]) for _ in range(3)]
    assert [r.status_code for r in others] == [200, 200, 429]
    assert others[-1].headers["retry-after"]
    assert "client address" in others[-1].json()["error"]


def test_finding_1_an_export_while_every_slot_streams_gets_503_with_retry_after(
    make_api: MakeApi,
) -> None:
    api = make_api(export_concurrency=1)
    site = api.add_site().site
    secret, _ = new_visitor()
    slots = api.client.app.state.services.rights_limits.exports
    api.run(slots.acquire)  # another export is streaming

    busy = rights(api, "GET", site.site_key, secret)
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "2"
    assert "exports in progress" in busy.json()["error"]

    async def finish() -> None:
        slots.release()

    api.run(finish)
    assert rights(api, "GET", site.site_key, secret).status_code == 200


def test_finding_1_a_visitor_with_more_rows_than_one_erase_chunk_is_erased_completely(
    make_api: MakeApi,
) -> None:
    """SQLite erases signals and batches in chunks (so one huge visitor does not hold its one
    writer); the chunks and the final transaction together remove every row, and the counts
    add up."""
    api = make_api()
    site = api.add_site().site
    secret, visitor = new_visitor()
    signals = [{"kind": "clicks", "count": n} for n in range(50)]
    for n in range(25):  # 1,250 signals, 25 batches: more than a chunk of 1,000
        send(api, site.site_key, secret, signals, f"batch-erase-{n:04d}")
    reply = rights(api, "DELETE", site.site_key, secret)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["removed"]["signals"], reply.json()["removed"]["batches"]) == (1250, 25)
    left = api.run(lambda: api.storage.sql_fetch(
        "SELECT COUNT(*) FROM signals WHERE site_id = ? AND visitor = ?", (site.id, visitor)
    ))  # fmt: skip
    assert left == [(0,)]


def test_finding_1_the_sqlite_connection_hints_read_on_never_runs_a_checkpoint(
    make_api: MakeApi,
) -> None:
    """A commit runs the WAL checkpoint when the WAL is long (after an erase), and reads queued
    on that connection wait for it: the shared reader leaves checkpoints to the writer's and
    the erase's own connections (which still run them)."""
    api = make_api()
    if api.storage.backend != "sqlite":
        pytest.skip("SQLite's WAL")
    assert api.run(lambda: api.storage.sql_fetch("PRAGMA wal_autocheckpoint")) == [(0,)]


def test_finding_1_exports_of_a_process_share_one_duty_cycle() -> None:
    """Each export chunk books the time it took; together the exports stay busy at most
    ``share`` of the time, so a slow machine slows the export, not other requests."""
    now = [100.0]
    pace = ExportPace(0.1, clock=lambda: now[0])
    assert pace.delay(0.001) == pytest.approx(0.009)  # 1 ms of work: 9 ms of rest
    assert pace.delay(0.001) == pytest.approx(0.019)  # a second export, at the same moment
    now[0] += 1.0  # long idle: no debt is carried over
    assert pace.delay(0.002) == pytest.approx(0.018)
    assert ExportPace(1.0).delay(5.0) == 0.0  # unpaced


# -- finding 2: a purchase outcome can be pre-empted ------------------------------------------


def test_finding_2_a_collect_cannot_preempt_a_purchase_outcome(make_api: MakeApi) -> None:
    import hashlib

    api = make_api()
    created = api.add_site()
    key, auth = created.site.site_key, {"Authorization": f"Bearer {created.admin_token}"}
    secret, visitor = new_visitor()
    # What the outcome's batch id used to be: a valid collect batch id anyone could send first.
    old_id = "outcome-" + hashlib.sha256(b"purchase:order-77").hexdigest()[:40]
    send(api, key, secret, [CLICKS], old_id)

    body = {"visitor": visitor, "kind": "purchase", "id": "order-77"}
    reply = api.client.post(f"/v1/admin/sites/{key}/outcomes", json=body, headers=auth)
    assert reply.status_code == 200, reply.text
    assert (reply.json()["duplicate"], reply.json()["purchases"]) == (False, 1)
    again = api.client.post(f"/v1/admin/sites/{key}/outcomes", json=body, headers=auth)
    assert (again.json()["duplicate"], again.json()["purchases"]) == (True, 1)
    # And no collect id can take the outcome's place: the colon is outside ID_PATTERN.
    forged = _batch_of(key, secret, [CLICKS], "outcome:" + "0" * 40)
    assert api.collect(forged).status_code == 422


# -- finding 3: a visitor id seen in transit reads and steers that visitor --------------------


def test_finding_3_an_id_seen_in_transit_reads_no_hints(make_api: MakeApi) -> None:
    api = make_api()
    created = api.add_site()
    site_key = created.site.site_key
    name = treated_visitor(created.site.id)  # outside the holdout: it gets hints
    secret, visitor = secret_of(name), id_of(name)
    evidence = {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3}
    loops = evidence | {"feature": "price_returns_loops", "points": 0.25}
    reply = api.collect(_batch_of(site_key, secret, [HESITANT, evidence, loops]))
    assert reply.json()["hints"], "the proven visitor gets its hints in the collect reply"

    def hints(token: str | None) -> Any:
        headers = {"Origin": ORIGIN} | ({"Authorization": f"Bearer {token}"} if token else {})
        return api.client.get(f"/v1/hints/{visitor}", params={"site": site_key}, headers=headers)

    assert hints(None).status_code == 401  # the id alone
    assert hints(visitor).status_code == 403  # the id is not its key
    assert hints(visitor_key_from_secret(new_visitor()[0])).status_code == 403  # another key
    assert hints(visitor_key_from_secret(secret)).json()["hints"]
    assert hints(created.admin_token).json()["hints"]  # the site's own server


def test_finding_3_an_id_seen_in_transit_cannot_steer_the_visitor(make_api: MakeApi) -> None:
    api = make_api()
    site_key = api.add_site().site.site_key
    secret, visitor = new_visitor()
    send(api, site_key, secret, [HESITANT], "batch-own-000001")
    before = rights(api, "GET", site_key, secret).json()

    forged = {"site": site_key, "visitor": visitor, "session": "session-0001",
              "batch": "batch-forged-0001", "signals": [HESITANT]}  # fmt: skip
    assert api.collect(forged).status_code == 422  # no key: nothing stored for the id
    feedback = {"site": site_key, "visitor": visitor, "hint_id": "hesitant.reassure",
                "outcome": "dismissed"}  # fmt: skip
    reply = api.client.post("/v1/feedback", json=feedback, headers={"Origin": ORIGIN})
    assert reply.status_code == 422
    # Whatever key a forger invents, it writes under the id that key proves, never this one.
    other_key = visitor_key_from_secret(new_visitor()[0])
    body = batch(site_key, [HESITANT], batch_id="batch-forged-0002") | {"key": other_key}
    assert api.collect(body).status_code == 200
    after = rights(api, "GET", site_key, secret).json()
    assert after["counts"] == before["counts"] and after["hint_feedback"] == []


# -- finding 4: erase and export miss data; some tables grow forever --------------------------


async def _tables_with_a_visitor_column(storage: Storage) -> set[str]:
    if storage.backend == "sqlite":
        tables = await storage.sql_fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        found = set()
        for (name,) in tables:
            columns = await storage.sql_fetch(f"PRAGMA table_info({name})")
            if any(col[1] == "visitor" for col in columns):
                found.add(str(name))
        return found
    rows = await storage.sql_fetch(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'visitor'"
    )
    return {str(r[0]) for r in rows}


def test_finding_4_every_table_with_a_visitor_column_is_in_the_one_list(
    make_api: MakeApi,
) -> None:
    api = make_api()
    live = api.run(lambda: _tables_with_a_visitor_column(api.storage))
    behind = set(ROWS_BEHIND_VIEWS) if api.storage.backend == "postgresql" else set()
    assert live == {t.name for t in VISITOR_TABLES} | behind


def _hint_history(api: Api, site_id: int, visitor: str) -> None:
    """A hint log row, a feedback and a pending webhook delivery about ``visitor``."""

    async def make() -> None:
        storage = api.storage
        row = HintLogRow(site_id, visitor, "irritated.escalate", "escalate_to_human",
                         "irritated", 0.9, "treated", 5.0)  # fmt: skip
        await hint_store.log_hints(storage, [row])
        assert await enqueue_events(storage, [row], now=api.clock()) == 1
        await hint_store.add_feedback(
            storage, site_id, visitor, "irritated.escalate", "dismissed", at=6.0
        )

    api.run(make)


def test_finding_4_erase_and_export_cover_hint_log_feedback_and_deliveries(
    make_api: MakeApi,
) -> None:
    api = make_api()
    site = api.add_site().site
    secret, visitor = new_visitor()
    _, bystander = new_visitor()
    hook = ["irritated_customer"]
    api.run(
        lambda: webhook_store.add_webhook(
            api.storage, site.id, "http://127.0.0.1:9/", hook, "s", now=1.0
        )
    )
    send(api, site.site_key, secret, [HESITANT], "batch-erase-0001")
    _hint_history(api, site.id, visitor)
    _hint_history(api, site.id, bystander)

    exported = rights(api, "GET", site.site_key, secret).json()
    reach = exported["counts"]["report_reach"]  # the dashboard's distinct-visitor rows
    assert reach > 0
    assert {name: exported["counts"][name] for name in exported["counts"]} == {
        "profiles": 1, "signals": 1, "batches": 1, "report_reach": reach,
        "hint_log": 1, "hint_feedback": 1, "webhook_deliveries": 1,
    }  # fmt: skip
    assert exported["webhook_deliveries"][0]["body"]["visitor"] == visitor
    assert exported["hint_feedback"][0]["outcome"] == "dismissed"

    removed = rights(api, "DELETE", site.site_key, secret).json()["removed"]
    assert removed == dict.fromkeys(exported["counts"], 1) | {"report_reach": reach}
    # The erased visitor's pending delivery is gone, the bystander's is still due.
    due = api.run(lambda: webhook_store.due_deliveries(api.storage, api.clock() + 1))
    assert [d.body.count(bystander) for d in due] == [1]
    assert all(visitor not in d.body for d in due)
    after = rights(api, "GET", site.site_key, secret).json()
    assert set(after["counts"].values()) == {0}


def test_finding_4_prune_removes_old_hint_log_feedback_and_settled_deliveries(
    database_url: str,
) -> None:
    import asyncio

    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        async with create_storage(database_url) as storage:
            site = (await storage.create_site("P", [ORIGIN], now=1.0)).site
            hook = await webhook_store.add_webhook(
                storage, site.id, "http://127.0.0.1:9/", ["x"], "s", now=1.0
            )
            await hint_store.log_hints(storage, [HintLogRow(site.id, "v-old", "h.a", "k", "p", 1.0,
                                                "treated", 10.0)])  # fmt: skip
            await hint_store.add_feedback(storage, site.id, "v-old", "h.a", "helpful", at=10.0)
            done = await webhook_store.enqueue_delivery(storage, hook, site.id, "x", "{}", now=10.0)
            await webhook_store.record_attempt(storage, done, status="delivered", attempts=1,
                                         next_attempt_at=10.0, last_status=200, last_error="",
                                         delivered_at=11.0)  # fmt: skip
            await webhook_store.enqueue_delivery(
                storage, hook, site.id, "x", "{}", now=10.0
            )  # still pending
            await hint_store.log_hints(storage, [HintLogRow(site.id, "v-new", "h.a", "k", "p", 1.0,
                                                "treated", 500.0)])  # fmt: skip
            first = await storage.prune(100.0)
            return first, await storage.prune(100.0)

    first, second = asyncio.run(scenario())
    assert {t: first[t] for t in ("hint_log", "hint_feedback", "webhook_deliveries")} == {
        "hint_log": 1, "hint_feedback": 1, "webhook_deliveries": 1,
    }  # fmt: skip
    assert set(second.values()) == {0}
