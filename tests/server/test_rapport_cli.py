"""The ``rapport`` command line, through click's CliRunner on real SQLite files."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rapport.client_py.schema import SITE_KEY_PATTERN
from rapport.server import cli
from rapport.server.cli.commands import demo as demo_command
from rapport.server.config import SETTINGS_ENV, Settings
from rapport.server.sites import hash_admin_token
from rapport.server.storage import create_storage


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_site_add_json_prints_exactly_the_two_keys(db: str) -> None:
    result = run(
        "site", "add", "Shop", "--origin", "https://shop.example", "--json", "--database", db
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"site_key", "admin_token"}
    assert re.fullmatch(SITE_KEY_PATTERN, payload["site_key"])
    assert payload["admin_token"].startswith("sk_")


def test_site_add_stores_only_the_hash_of_the_admin_token(db: str, tmp_path: Path) -> None:
    payload = json.loads(
        run(
            "site", "add", "Shop", "--origin", "https://shop.example", "--json", "--database", db
        ).stdout
    )
    import sqlite3

    with sqlite3.connect(tmp_path / "cli.db") as conn:
        (stored,) = conn.execute("SELECT admin_token_hash FROM sites").fetchone()
    assert stored == hash_admin_token(payload["admin_token"])


def test_site_add_normalises_origins(db: str) -> None:
    run(
        "site", "add", "Shop", "--origin", "HTTPS://Shop.Example:443/",
        "--origin", "http://localhost:8001", "--database", db,
    )  # fmt: skip
    sites = json.loads(run("site", "list", "--json", "--database", db).stdout)
    assert sites[0]["origins"] == ["https://shop.example", "http://localhost:8001"]


def test_site_add_refuses_a_bad_origin_with_a_clear_error(db: str) -> None:
    result = run("site", "add", "Shop", "--origin", "shop.example/path", "--database", db)
    assert result.exit_code == 2
    assert "scheme must be http or https" in result.output


def test_site_add_requires_an_origin(db: str) -> None:
    assert run("site", "add", "Shop", "--database", db).exit_code == 2


def test_site_add_refuses_a_taken_name(db: str) -> None:
    run("site", "add", "Shop", "--origin", "https://shop.example", "--database", db)
    result = run("site", "add", "Shop", "--origin", "https://shop.example", "--database", db)
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_database_url_comes_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = CliRunner(env={"RAPPORT_DATABASE_URL": url}).invoke(
        cli.main, ["site", "add", "Shop", "--origin", "https://shop.example"]
    )
    assert result.exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_bad_database_url_is_refused(tmp_path: Path) -> None:
    result = run("site", "list", "--database", "mysql://nope")
    assert result.exit_code == 2
    assert "unsupported database URL" in result.output


def test_site_list_json_never_shows_secrets(db: str) -> None:
    run("site", "add", "Shop", "--origin", "https://shop.example", "--database", db)
    output = run("site", "list", "--json", "--database", db).stdout
    [site] = json.loads(output)
    assert set(site) == {"id", "name", "site_key", "origins", "created_at"}


def test_site_list_on_an_empty_database_says_how_to_add_one(db: str) -> None:
    assert "rapport site add" in run("site", "list", "--database", db).output


def test_build_sdk_calls_the_builder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[Path] = []

    def build_sdk(out_dir: Path) -> Path:
        calls.append(out_dir)
        return out_dir / "manifest.json"

    monkeypatch.setitem(
        sys.modules, "rapport.wasm_build.build", types.SimpleNamespace(build_sdk=build_sdk)
    )
    result = run("build-sdk", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert calls == [tmp_path / "out"]


class FakeDemoServer:
    def __init__(self) -> None:
        self.closed = False

    def shutdown(self) -> None:
        self.closed = True

    def server_close(self) -> None:
        pass


def test_demo_wires_the_demo_shop_to_the_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text("{}")
    demo_calls: list[dict[str, Any]] = []
    server_runs: list[Any] = []
    fake = FakeDemoServer()

    def serve_demo(**kwargs: Any) -> FakeDemoServer:
        demo_calls.append(kwargs)
        return fake

    monkeypatch.setitem(
        sys.modules, "rapport.demo_site.server", types.SimpleNamespace(serve_demo=serve_demo)
    )
    # The simulated visitors would wait 60 s in a thread for an API this test never starts,
    # then print into whichever test's output is being captured then.
    seeded: list[tuple[Any, ...]] = []
    monkeypatch.setitem(
        sys.modules,
        "rapport.demo_site.seed",
        types.SimpleNamespace(seed_in_background=lambda *args, **kw: seeded.append(args)),
    )
    monkeypatch.setattr(demo_command, "default_sdk_dir", lambda: dist)
    monkeypatch.setattr(
        demo_command, "run_server", lambda settings, **kw: server_runs.append((settings, kw))
    )
    db = f"sqlite:///{tmp_path / 'cache' / 'demo.db'}"

    result = run("demo", "--port", "8100", "--demo-port", "8101", "--database", db)

    assert result.exit_code == 0, result.output
    [call] = demo_calls
    assert call["host"] == "localhost" and call["port"] == 8101
    assert call["sdk_base"] == "http://127.0.0.1:8100/sdk"
    assert "http://localhost:8101/" in result.output
    [(settings, kwargs)] = server_runs
    assert kwargs["port"] == 8100 and settings.sdk_dir == dist
    assert seeded == [("http://localhost:8101", "http://127.0.0.1:8100")]
    assert fake.closed
    sites = json.loads(run("site", "list", "--json", "--database", db).stdout)
    assert sites[0]["name"] == "Demo shop"
    assert sites[0]["site_key"] == call["site_key"]
    assert sites[0]["origins"] == ["http://localhost:8101"]


def test_demo_site_is_reused_and_gains_a_new_origin(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    first = asyncio.run(cli.ensure_demo_site(db, "http://localhost:8001"))
    again = asyncio.run(cli.ensure_demo_site(db, "http://localhost:8001"))
    moved = asyncio.run(cli.ensure_demo_site(db, "http://localhost:9001"))
    assert first.site_key == again.site_key == moved.site_key
    assert moved.origins == ("http://localhost:8001", "http://localhost:9001")

    async def count() -> int:
        async with create_storage(db) as storage:
            return len(await storage.list_sites())

    assert asyncio.run(count()) == 1


def test_the_demo_site_runs_without_a_control_group(db: str) -> None:
    """Every demo visitor sees the shop adapt; real sites keep the default holdout."""
    asyncio.run(cli.ensure_demo_site(db, "http://localhost:8001"))
    shown = run("site", "playbook", "Demo shop", "--show", "--database", db)
    assert json.loads(shown.output)["experiment"]["holdout"] == 0.0


def test_tone_json_says_which_part_fired_and_why() -> None:
    result = CliRunner().invoke(
        cli.main, ["tone", "--json", "Great, another week without my parcel."]
    )
    out = json.loads(result.output)
    assert out["labels"] == ["irritated"]
    assert out["fired"] == {"irritated": ["learned"]}
    assert set(out["parts"]) == {"lexicon", "learned"}
    assert out["parts"]["lexicon"]["positivity"] >= 0.5  # the words alone read it as praise
    assert any(r.startswith("learned: ") for r in out["reasons"]["irritation"])


def test_serve_options_that_are_settings_read_the_same_variables_as_settings() -> None:
    """``rapport serve --rate-per-ip`` and ``RAPPORT_RATE_PER_IP`` set the same field, with the
    same default: the options are derived from ``Settings`` and ``SETTINGS_ENV``."""
    defaults = Settings()
    fields = {field.name for field in dataclasses.fields(Settings)}
    serve = cli.main.commands["serve"]
    derived = [p for p in serve.params if p.name in fields]
    assert {p.name for p in derived} >= {"database_url", "rate_per_ip", "retention_days"}
    for param in derived:
        assert param.envvar == SETTINGS_ENV[param.name], param.name
        if param.name != "sdk_dir":  # None: the repo's wasm_build/dist, decided by Settings
            assert param.default == getattr(defaults, param.name), param.name
