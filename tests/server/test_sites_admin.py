"""Site administration (rotate key, remove, stats, admin token) and retention, on both backends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from rapport.server import cli
from rapport.server.app import create_app, run_retention
from rapport.server.config import Settings
from rapport.server.profiles import Observations
from rapport.server.storage import IngestBatch, StoredSignal, StoredSignals, create_storage
from tests.server.conftest import METRICS_AUTH, METRICS_TOKEN, ORIGIN, Api, FakeClock, batch

CLICK = StoredSignal("clicks", '{"kind":"clicks","count":1}')


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def any_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    clock = FakeClock()
    settings = Settings(database_url=database_url, sdk_dir=tmp_path / "sdk")
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=tmp_path)


def stats(api: Api, site_key: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.client.get(f"/v1/admin/sites/{site_key}/stats", headers=headers)


def test_admin_stats_need_the_sites_own_token(any_api: Api) -> None:
    a = any_api.add_site()
    b = any_api.add_site()
    for i, visitor in enumerate(["visitor-0001", "visitor-0001", "visitor-0002"]):
        body = batch(a.site.site_key, [{"kind": "clicks", "count": 1}] * 2, visitor=visitor,
                     batch_id=f"batch-stats-{i:04d}")  # fmt: skip
        assert any_api.collect(body).status_code == 200

    reply = stats(any_api, a.site.site_key, a.admin_token)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "site": a.site.site_key,
        "name": a.site.name,
        "signals": 6,
        "batches": 3,
        "visitors": 2,
        "profiles": 0,
    }
    # Site B's token never opens site A, and the reverse.
    assert stats(any_api, a.site.site_key, b.admin_token).status_code == 403
    assert stats(any_api, b.site.site_key, a.admin_token).status_code == 403
    assert stats(any_api, a.site.site_key, a.site.site_key).status_code == 403
    reply = stats(any_api, a.site.site_key, None)
    assert reply.status_code == 401 and reply.json()["field"] == "Authorization"
    assert stats(any_api, "pk_unknown-site-00", a.admin_token).status_code == 404
    assert stats(any_api, "bad", a.admin_token).status_code == 422
    assert stats(any_api, b.site.site_key, b.admin_token).json()["signals"] == 0


def test_a_site_key_never_writes_into_another_site(any_api: Api) -> None:
    a = any_api.add_site(origins=(ORIGIN,))
    b = any_api.add_site(origins=("https://b.example",))
    # A's page posting with B's key: refused by B's origins, nothing stored anywhere.
    reply = any_api.collect(batch(b.site.site_key, [{"kind": "clicks", "count": 1}]))
    assert reply.status_code == 403
    assert any_api.count_signals(a.site.id) == any_api.count_signals(b.site.id) == 0


@pytest.mark.anyio
async def test_rotate_key_and_delete_site_in_storage(database_url: str) -> None:
    async with create_storage(database_url) as storage:
        keep = await storage.create_site("Keep", ["https://k.example"], now=1.0)
        gone = await storage.create_site("Gone", ["https://g.example"], now=1.0)
        for site_id in (keep.site.id, gone.site.id):
            await storage.ingest(
                IngestBatch(
                    site_id=site_id, visitor="visitor-0001", session="session-0001",
                    batch_id="batch-0001", received_at=5.0,
                    signals=StoredSignals.of([CLICK]),
                    observations=Observations(patterns={"hesitant": 0.5}),
                )
            )  # fmt: skip
        new_key = await storage.rotate_site_key(gone.site.id)
        assert new_key != gone.site.site_key
        assert await storage.site_by_key(gone.site.site_key) is None
        found = await storage.site_by_key(new_key)
        assert found is not None and found.id == gone.site.id

        removed = await storage.delete_site(gone.site.id)
        assert removed == {"signals": 1, "batches": 1, "profiles": 1, "sites": 1}
        assert await storage.site_by_name("Gone") is None
        kept = await storage.site_stats(keep.site.id)
        assert (kept.signals, kept.batches, kept.visitors, kept.profiles) == (1, 1, 1, 1)


@pytest.mark.anyio
async def test_prune_removes_old_signals_and_batches_but_keeps_profiles(database_url: str) -> None:
    async with create_storage(database_url) as storage:
        site = (await storage.create_site("S", ["https://s.example"], now=1.0)).site
        for i, at in enumerate([100.0, 200.0, 300.0]):
            await storage.ingest(
                IngestBatch(
                    site_id=site.id, visitor="visitor-0001", session="session-0001",
                    batch_id=f"batch-{i:04d}", received_at=at,
                    signals=StoredSignals.of([CLICK] * 3),
                    observations=Observations(patterns={"hesitant": 0.5}),
                )
            )  # fmt: skip
        hints_engine = {"hint_log": 0, "hint_feedback": 0, "webhook_deliveries": 0}
        assert await storage.prune(250.0) == {"signals": 6, "batches": 2} | hints_engine
        after = await storage.site_stats(site.id)
        assert (after.signals, after.batches, after.profiles) == (3, 1, 1)
        assert (await storage.profile(site.id, "visitor-0001")).patterns


def test_retention_task_runs_in_the_background(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'r.db'}",
        sdk_dir=tmp_path,
        retention_days=1,
        retention_interval=0.05,
        metrics_token=METRICS_TOKEN,
    )
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        api = Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=tmp_path)
        site = api.add_site()
        assert (
            api.collect(batch(site.site.site_key, [{"kind": "clicks", "count": 1}])).status_code
            == 200
        )
        clock.advance(2 * 86_400)
        counted = 'rapport_retention_pruned_rows_total{table="signals"} 1'
        # A run counts its rows once it has pruned every table, a moment after the signals go.
        for _ in range(250):
            if counted in client.get("/metrics", headers=METRICS_AUTH).text:
                break
            api.run(lambda: asyncio.sleep(0.02))
        assert api.count_signals(site.site.id) == 0
        assert counted in client.get("/metrics", headers=METRICS_AUTH).text
        # run_retention is what the task calls; nothing left to prune now.
        assert set(api.run(lambda: run_retention(app.state.services)).values()) == {0}


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_rotate_key_remove_and_db_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    added = json.loads(
        run("site", "add", "Shop", "--origin", ORIGIN, "--json", "--database", db).stdout
    )
    rotated = run("site", "rotate-key", "Shop", "--json", "--database", db)
    assert rotated.exit_code == 0, rotated.output
    payload = json.loads(rotated.stdout)
    assert payload["previous_site_key"] == added["site_key"]
    assert payload["site_key"] != added["site_key"]
    listed = json.loads(run("site", "list", "--json", "--database", db).stdout)
    assert [s["site_key"] for s in listed] == [payload["site_key"]]

    assert run("site", "rotate-key", "Nope", "--database", db).exit_code != 0
    refused = run("site", "remove", "Shop", "--database", db, input="n\n")
    assert refused.exit_code != 0
    assert len(json.loads(run("site", "list", "--json", "--database", db).stdout)) == 1
    removed = run("site", "remove", "Shop", "--yes", "--database", db)
    assert removed.exit_code == 0 and "Removed site 'Shop'" in removed.output
    assert json.loads(run("site", "list", "--json", "--database", db).stdout) == []

    upgraded = run("db", "upgrade", "--database", db)
    assert upgraded.exit_code == 0 and "revision" in upgraded.output
    pruned = run("db", "prune", "--retention-days", "30", "--json", "--database", db)
    assert set(json.loads(pruned.stdout)) >= {"signals", "batches", "hint_log", "hint_feedback"}
    assert set(json.loads(pruned.stdout).values()) == {0}


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.main, ["serve", "--workers", "2", "--database", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 2
    assert "SQLite takes exactly one server process" in result.output
    assert "PostgreSQL" in result.output
