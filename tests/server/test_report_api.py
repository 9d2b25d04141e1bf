"""``GET /v1/admin/sites/{key}/report``: every aggregate under the k rule, on both backends.

The k tests send the same full set of signals from 4 and from 5 visitors: with the default
k = 5 every number of the report is ``null`` for 4 and shown for 5 — in the JSON and in the
CSV. Hints and uplift come from the hint log, with 4 or 5 visitors in each arm.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.client_py.schema import PATTERNS
from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.hints import store as hint_store
from rapport.server.report.settings import InvalidReportSettings, set_report_settings
from rapport.server.sites.model import NewSite
from rapport.server.storage.base import HintLogRow
from tests.server.conftest import ORIGIN, Api, FakeClock, batch, id_of

AFFECT = {"kind": "affect", "seconds": 3, "frames": 9, "presence": 1, "attention": 1,
          "dominant": "happy", "valence": 0.6, "happy": 0.7, "micro": 0}  # fmt: skip
#: One session that touches every cell of the rollup-based panels.
EVERYTHING: list[dict[str, Any]] = [
    *({"kind": "pattern", "name": p, "score": 0.8} for p in PATTERNS),
    {"kind": "evidence", "pattern": "hesitant", "feature": "price_returns_loops", "points": 0.4},
    *({"kind": "counter", "name": n, "count": 2}
      for n in ("rage_clicks", "dead_clicks", "quick_backs", "hovers_without_click")),
    {"kind": "dwell", "section": "price", "seconds": 12},
    {"kind": "section_event", "name": "hover_without_click", "section": "price", "count": 2},
    {"kind": "section_event", "name": "copy", "section": "price", "count": 1},
    *({"kind": "tone", "name": t, "score": 0.8}
      for t in ("irritation", "urgency", "formality", "positivity")),
    {"kind": "topic", "name": "warranty", "count": 2},
    {"kind": "action", "name": "add_to_cart"},
    {"kind": "action", "name": "purchase", "value": 10, "currency": "EUR"},
    AFFECT,
]  # fmt: skip


@pytest.fixture
def report_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app on SQLite and on PostgreSQL (``database_url`` is parametrised)."""
    clock = FakeClock()
    app = create_app(Settings(database_url=database_url, sdk_dir=tmp_path / "sdk"), clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, storage=app.state.services.storage, clock=clock,
                  sdk_dir=tmp_path / "sdk")  # fmt: skip


def report(api: Api, site: NewSite, days: int = 7, token: str | None = None) -> Any:
    return api.client.get(
        f"/v1/admin/sites/{site.site.site_key}/report",
        params={"days": days},
        headers={"Authorization": f"Bearer {token or site.admin_token}"},
    )


def report_csv(api: Api, site: NewSite, table: str) -> list[list[str]]:
    reply = api.client.get(
        f"/v1/admin/sites/{site.site.site_key}/report.csv",
        params={"days": 7, "table": table},
        headers={"Authorization": f"Bearer {site.admin_token}"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(reply.text)))


def visit(api: Api, site: NewSite, visitors: int, signals: list[dict[str, Any]]) -> list[str]:
    """``visitors`` fresh test visitors send ``signals``; their stored ids."""
    names = [f"visitor-{uuid.uuid4().hex[:10]}" for _ in range(visitors)]
    for visitor in names:
        body = batch(site.site.site_key, signals, visitor=visitor, session="s-" + visitor)
        assert api.collect(body).status_code == 200
    return [id_of(name) for name in names]


def numbers(table: dict[str, Any]) -> list[Any]:
    """The table's numeric cells (the first column labels the row); line charts: today only."""
    rows = table["rows"][-1:] if table["chart"] == "line" else table["rows"]
    return [cell for row in rows for cell in row[1:] if not isinstance(cell, str)]


def tables(body: dict[str, Any], *ids: str) -> list[dict[str, Any]]:
    found = [t for p in body["panels"] for t in p["tables"] if t["id"] in ids]
    assert {t["id"] for t in found} == set(ids)
    return found


def assert_all_shown_or_all_null(found: list[dict[str, Any]], shown: bool) -> None:
    for table in found:
        cells = numbers(table)
        assert cells, table["id"]
        if shown:
            assert None not in cells, table
        else:
            assert set(cells) == {None}, table


ROLLUP_TABLES = ("traffic", "patterns", "overlap", "friction", "sections", "emotions", "tones",
                 "topics", "funnel")  # fmt: skip
HINT_TABLES = ("hints_shown", "feedback", "uplift", "guardrail")


@pytest.mark.parametrize(("visitors", "shown"), [(4, False), (5, True)])
def test_every_rollup_aggregate_is_null_under_k_and_shown_at_k(
    report_api: Api, visitors: int, shown: bool
) -> None:
    site = report_api.add_site()
    visit(report_api, site, visitors, EVERYTHING)
    body = report(report_api, site).json()
    assert body["k"] == 5
    assert (body["visitors"], body["sessions"]) == ((5, 5) if shown else (None, None))
    assert_all_shown_or_all_null(tables(body, *ROLLUP_TABLES), shown)


@pytest.mark.parametrize(("per_arm", "shown"), [(4, False), (5, True)])
def test_hints_feedback_uplift_and_guardrail_are_null_under_k_and_shown_at_k(
    report_api: Api, per_arm: int, shown: bool
) -> None:
    site = report_api.add_site()
    storage, now = report_api.storage, report_api.clock()
    for arm in ("treated", "control"):
        ids = [f"{arm}-{i}-{uuid.uuid4().hex[:8]}" for i in range(per_arm)]
        rows = [HintLogRow(site.site.id, id_of(v), "hesitant.reassure", "reassure", "hesitant", 0.8,
                           arm, now - 60) for v in ids]  # fmt: skip
        report_api.run(lambda rows=rows: hint_store.log_hints(storage, rows))  # type: ignore[misc]
        for v in ids:
            for outcome in ("helpful", "ignored", "dismissed") if arm == "treated" else ():
                report_api.run(
                    lambda v=v, o=outcome: hint_store.add_feedback(
                        storage,  # type: ignore[misc]
                        site.site.id,
                        id_of(v),
                        "hesitant.reassure",
                        o,
                        at=now - 30,
                    )
                )
            body = batch(site.site.site_key, [
                {"kind": "pattern", "name": "irritated", "score": 0.9},
                {"kind": "action", "name": "purchase"},
            ], visitor=v, session="s-" + v)  # fmt: skip
            assert report_api.collect(body).status_code == 200
    body = report(report_api, site).json()
    assert_all_shown_or_all_null(tables(body, *HINT_TABLES), shown)
    if shown:
        (overall,) = [r for r in tables(body, "uplift")[0]["rows"] if r[0] == "all hints"]
        assert overall[1:6] == [5, 5, 1.0, 1.0, 0.0]
        assert overall[6] < 0 < overall[7]


@pytest.mark.parametrize(("visitors", "shown"), [(4, False), (5, True)])
def test_csv_downloads_follow_the_k_rule(report_api: Api, visitors: int, shown: bool) -> None:
    site = report_api.add_site()
    visit(report_api, site, visitors, EVERYTHING)
    header, *rows = report_csv(report_api, site, "friction")
    assert header == ["friction", "sessions", "times"]
    cells = {cell for row in rows for cell in row[1:]}
    if shown:
        assert "< 5" not in cells
        assert ["rage_clicks", "5", "10"] in rows
    else:
        assert cells == {"< 5"}


def scores_by_bucket(body: dict[str, Any]) -> dict[str, list[Any]]:
    return {row[0]: row[1:] for row in tables(body, "scores")[0]["rows"]}


@pytest.mark.parametrize(("visitors", "shown"), [(4, False), (5, True)])
def test_lead_score_and_abandon_risk_buckets_are_null_under_k_and_shown_at_k(
    report_api: Api, visitors: int, shown: bool
) -> None:
    """Every visitor lands in one bucket of each distribution (their peak score); a bucket
    of fewer than k visitors — also an empty one — is null."""
    site = report_api.add_site()
    visit(report_api, site, visitors, EVERYTHING)
    buckets = scores_by_bucket(report(report_api, site).json())
    assert len(buckets) == 5
    lead = [row[0] for row in buckets.values()]
    abandon = [row[1] for row in buckets.values()]
    if shown:
        assert sorted(lead, key=lambda v: v or 0) == [None, None, None, None, 5]
        assert sorted(abandon, key=lambda v: v or 0) == [None, None, None, None, 5]
    else:
        assert set(lead) == set(abandon) == {None}


@pytest.mark.parametrize(("visitors", "shown"), [(4, False), (5, True)])
def test_score_csv_follows_the_k_rule(report_api: Api, visitors: int, shown: bool) -> None:
    site = report_api.add_site()
    visit(report_api, site, visitors, EVERYTHING)
    header, *rows = report_csv(report_api, site, "scores")
    assert header == ["score", "lead score (visitors)", "abandon risk (visitors)"]
    cells = [cell for row in rows for cell in row[1:]]
    assert cells.count("5") == (2 if shown else 0)
    assert cells.count("< 5") == (8 if shown else 10)


@pytest.mark.parametrize(("visitors", "shown"), [(4, False), (5, True)])
def test_camera_consent_is_a_share_of_sessions_under_the_k_rule(
    report_api: Api, visitors: int, shown: bool
) -> None:
    """Each visitor has two sessions, only the first with the camera: half of the sessions."""
    site = report_api.add_site()
    for _ in range(visitors):
        visitor = f"visitor-{uuid.uuid4().hex[:10]}"
        for session, signals in (("first", EVERYTHING), ("second", [EVERYTHING[-2]])):
            body = batch(site.site.site_key, signals, visitor=visitor, session=session + visitor)
            assert report_api.collect(body).status_code == 200
    today = tables(report(report_api, site).json(), "traffic")[0]["rows"][-1]
    assert today[2:] == ([visitors * 2, 0.5] if shown else [None, None])


def test_a_stored_batch_shows_in_the_report_at_once(report_api: Api) -> None:
    """The writer keeps the rollups in the batch's own transaction: no delay at all (the
    issue asks for at most 10 s)."""
    site = report_api.add_site()
    visit(report_api, site, 5, [{"kind": "pattern", "name": "hesitant", "score": 0.9}])
    assert report(report_api, site).json()["visitors"] == 5
    visit(report_api, site, 1, [{"kind": "clicks", "count": 1}])
    assert report(report_api, site).json()["visitors"] == 6


def test_a_site_may_lower_k_to_two_but_not_below(report_api: Api) -> None:
    site = report_api.add_site()
    storage, now = report_api.storage, report_api.clock()
    visit(report_api, site, 2, EVERYTHING)
    assert report(report_api, site).json()["visitors"] is None
    report_api.run(lambda: set_report_settings(storage, site.site.id, k=2, now=now))
    body = report(report_api, site).json()
    assert (body["k"], body["visitors"]) == (2, 2)
    with pytest.raises(InvalidReportSettings, match="k must be between 2"):
        report_api.run(lambda: set_report_settings(storage, site.site.id, k=1, now=now))


def test_erasing_a_visitor_removes_them_from_the_rollups(report_api: Api) -> None:
    site = report_api.add_site()
    storage = report_api.storage
    ids = visit(report_api, site, 6, EVERYTHING)
    assert report(report_api, site).json()["visitors"] == 6
    before = report_api.run(lambda: storage.sql_fetch(
        "SELECT COUNT(*) FROM report_reach WHERE visitor = ?", (ids[0],)))  # fmt: skip
    assert before[0][0] > 0
    report_api.run(lambda: storage.erase_visitor(site.site.id, ids[0]))
    left = report_api.run(lambda: storage.sql_fetch(
        "SELECT COUNT(*) FROM report_reach WHERE visitor = ?", (ids[0],)))  # fmt: skip
    assert left[0][0] == 0
    assert report(report_api, site).json()["visitors"] == 5


def test_days_are_local_days_of_the_sites_time_zone(report_api: Api) -> None:
    site = report_api.add_site()
    storage, now = report_api.storage, report_api.clock()
    # 1_800_000_000 is 2027-01-15 08:00 UTC: still the 14th in Honolulu (UTC-10).
    report_api.run(lambda: set_report_settings(
        storage, site.site.id, k=2, timezone="Pacific/Honolulu", now=now))  # fmt: skip
    visit(report_api, site, 2, EVERYTHING)
    body = report(report_api, site, days=1).json()
    assert (body["timezone"], body["end"]) == ("Pacific/Honolulu", "2027-01-14")
    assert tables(body, "traffic")[0]["rows"][-1][:2] == ["2027-01-14", 2]


def test_report_refuses_a_wrong_token_another_sites_token_and_bad_days(report_api: Api) -> None:
    site, other = report_api.add_site(), report_api.add_site()
    assert report(report_api, site, token="sk_wrong-token-0123456789").status_code == 403
    assert report(report_api, site, token=other.admin_token).status_code == 403
    reply = report_api.client.get(f"/v1/admin/sites/{site.site.site_key}/report")
    assert reply.status_code == 401
    bad = report(report_api, site, days=0)
    assert bad.status_code == 422
    assert bad.json()["field"] == "days"


def test_report_is_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/schema/openapi.json").json()["paths"]
    assert "/v1/admin/sites/{site_key}/report" in paths
    assert "/v1/admin/sites/{site_key}/report.csv" in paths


def test_report_of_an_empty_site_has_every_panel(api: Api) -> None:
    site = api.add_site(origins=(ORIGIN,))
    body = report(api, site, days=30).json()
    assert [p["id"] for p in body["panels"]] == ["traffic", "patterns", "friction", "emotions",
                                                 "chat", "hints", "funnel", "scores"]  # fmt: skip
    assert len(tables(body, "traffic")[0]["rows"]) in (30, 31)


# -- past days come from the process's cache (server/report/cache.py) --------------------------

DAY = 86_400.0


def past_day_report(api: Api, site: NewSite, visitors: int) -> tuple[list[str], dict[str, Any]]:
    """``visitors`` visit today; two days later their day is closed and the report (read twice,
    the second time from the cache) counts them."""
    ids = visit(api, site, visitors, EVERYTHING)
    api.clock.advance(2 * DAY)
    first = report(api, site).json()
    second = report(api, site).json()
    assert first["visitors"] == second["visitors"]
    return ids, second


def from_rollups(body: dict[str, Any]) -> dict[str, Any]:
    """The report without what is not read from the rollups: the time, and the hints panel
    (read from the hint log on every report, which the hints engine fills as it goes and
    retention prunes)."""
    panels = [p for p in body["panels"] if p["id"] != "hints"]
    return {k: v for k, v in body.items() if k != "generated_at"} | {"panels": panels}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])  # Kolkata: a half-hour offset
def test_a_cached_past_day_gives_the_same_report_as_the_database(
    report_api: Api, zone: str
) -> None:
    site = report_api.add_site()
    storage, now = report_api.storage, report_api.clock()
    report_api.run(lambda: set_report_settings(storage, site.site.id, timezone=zone, now=now))
    visit(report_api, site, 5, EVERYTHING)
    report_api.clock.advance(DAY)  # a second day, half of it in the range's first local day
    _, cached = past_day_report(report_api, site, 5)
    cache = report_api.storage.report_cache
    assert cache is not None and cache  # the closed day is held
    cache.forget_site(site.site.id)
    assert from_rollups(report(report_api, site).json()) == from_rollups(cached)


def test_erasing_a_visitor_of_a_cached_day_applies_the_k_rule_again(report_api: Api) -> None:
    site = report_api.add_site()
    ids, cached = past_day_report(report_api, site, 5)
    assert cached["visitors"] == 5
    report_api.run(lambda: report_api.storage.erase_visitor(site.site.id, ids[0]))
    body = report(report_api, site).json()
    assert body["visitors"] is None  # 4 visitors left: under k
    day = [row for row in tables(body, "traffic")[0]["rows"] if row[1:] != [None, None, None]]
    assert day == []


def test_an_erasure_by_another_process_reaches_the_cached_days(report_api: Api) -> None:
    """Several servers on one PostgreSQL: another process's erase deletes the reach rows
    without this process's hooks; the report notices the rows it cached are gone."""
    site = report_api.add_site()
    ids, cached = past_day_report(report_api, site, 6)
    assert cached["visitors"] == 6
    sql = "DELETE FROM report_reach WHERE site_id = ? AND visitor = ?"
    report_api.run(lambda: report_api.storage.sql_execute(sql, (site.site.id, ids[0])))
    assert report(report_api, site).json()["visitors"] == 5


def test_a_batch_stored_in_a_cached_hour_shows_in_the_report(report_api: Api) -> None:
    """A visitor of the cached day starts another session back then (an import): their
    reach row is ORed in place, so only the writer can tell the cache."""
    site = report_api.add_site()
    names = [f"visitor-{uuid.uuid4().hex[:10]}" for _ in range(5)]
    for name in names:
        body = batch(site.site.site_key, EVERYTHING, visitor=name, session="s1-" + name)
        assert report_api.collect(body).status_code == 200
    report_api.clock.advance(2 * DAY)
    assert report(report_api, site).json()["sessions"] == 5
    report_api.clock.advance(-2 * DAY)
    body = batch(site.site.site_key, EVERYTHING, visitor=names[0], session="s2-" + names[0])
    assert report_api.collect(body).status_code == 200
    report_api.clock.advance(2 * DAY)
    assert report(report_api, site).json()["sessions"] == 6


def test_pruning_raw_signals_keeps_the_cached_history(report_api: Api) -> None:
    site = report_api.add_site()
    _, cached = past_day_report(report_api, site, 5)
    assert cached["visitors"] == 5
    storage = report_api.storage
    report_api.run(lambda: storage.prune(report_api.clock() - DAY))
    assert report_api.count_signals(site.site.id) == 0
    assert from_rollups(report(report_api, site).json()) == from_rollups(cached)
    cache = storage.report_cache
    assert cache is not None
    cache.forget_site(site.site.id)  # and from the database alone: the rollups were kept
    assert from_rollups(report(report_api, site).json()) == from_rollups(cached)
