"""The site owner's dashboard in real Chromium, on data that persona visitors really sent.

A fresh stack (server + demo shop); six persona visitors browse the shop in headless Chromium;
the site's k is lowered to 2 so that numbers about two or more of them are shown. Then the
owner signs in with the admin token and with a one-time link, sees every panel, switches the
range, downloads a CSV; wrong token, another site's token, an expired session and a
cross-site POST are refused. Screenshots go to ``.cache/artefacts/dashboard``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from rapport.demo_site.seed import simulate_visitors
from rapport.demo_site.stack import REPO, Stack, running_stack

# The module's first test also waits for the six persona visits (about two minutes).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ARTEFACTS = Path(os.environ.get("RAPPORT_ARTEFACTS", REPO / ".cache" / "artefacts")) / "dashboard"
PANELS = ["traffic", "patterns", "friction", "emotions", "chat", "hints", "funnel", "scores"]


def rapport(stack: Stack, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "rapport.server", *args, "--database", stack.database],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("dashboard")) as stack:
        rapport(stack, "site", "report-settings", "Demo shop", "--k", "2")
        # Two at a time: six Pyodide boots at once on a busy 2-core machine outlast the visits.
        simulate_visitors(stack.shop, stack.api, [1], parallel=2)
        yield stack


@pytest.fixture
def owner(browser: Browser, shop: Stack) -> Iterator[tuple[Page, list[str]]]:
    """A fresh browser context and the console errors seen in it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, errors
    context.close()


def sign_in(page: Page, shop: Stack, token: str) -> None:
    page.goto(f"{shop.api}/dashboard/")
    page.fill("#token", token)
    page.click("button[type=submit]")


def wait_for_report(page: Page, days: int = 7) -> None:
    page.wait_for_selector(f"#panels[data-days='{days}']")


def screenshot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def test_sign_in_with_the_token_draws_every_panel_from_stored_data(
    owner: tuple[Page, list[str]], shop: Stack
) -> None:
    page, errors = owner
    sign_in(page, shop, shop.admin_token)
    wait_for_report(page)
    ids = page.eval_on_selector_all("#panels > section", "s => s.map(e => e.id)")
    assert ids == [f"panel-{p}" for p in PANELS]
    report = page.evaluate("() => fetch('/dashboard/api/report?days=7').then(r => r.json())")
    with sqlite3.connect(shop.database.removeprefix("sqlite:///")) as db:
        stored = db.execute("SELECT COUNT(DISTINCT visitor) FROM batches").fetchone()[0]
    assert stored >= 2, "the persona visitors sent nothing (machine too busy?)"
    assert report["visitors"] == stored
    assert (page.text_content("#summary") or "").startswith(f"{stored} visitors")
    shown = 0
    for table in (t for p in report["panels"] for t in p["tables"]):
        numbers = [c for row in table["rows"] for c in row[1:] if isinstance(c, int | float)]
        if not numbers:  # e.g. no camera among the personas, no holdout in the demo playbook
            continue
        shown += 1
        figure = page.locator(f"figure[data-table='{table['id']}']")
        expect(figure.locator(".chart[data-drawn='true'] canvas")).to_have_count(1)
        body = figure.locator(".table-wrap tbody").text_content() or ""
        assert all(f"{n:,}" in body or str(round(n, 3)) in body for n in numbers), table
    assert shown >= 4
    screenshot(page, "dashboard-7d-light")
    page.click("#theme")
    screenshot(page, "dashboard-7d-dark")
    assert errors == []


def test_switching_the_range_redraws_with_that_many_days(
    owner: tuple[Page, list[str]], shop: Stack
) -> None:
    page, errors = owner
    sign_in(page, shop, shop.admin_token)
    wait_for_report(page)
    page.click("button[data-days='30']")
    wait_for_report(page, 30)
    rows = page.locator("figure[data-table='traffic'] .table-wrap tbody tr")
    assert rows.count() in (30, 31)
    expect(page.locator("button[data-days='30']")).to_have_attribute("aria-pressed", "true")
    page.click("button[data-days='1']")
    wait_for_report(page, 1)
    assert page.locator("figure[data-table='traffic'] .table-wrap tbody tr").count() in (1, 2)
    screenshot(page, "dashboard-24h")
    assert errors == []


def test_a_csv_download_has_the_tables_rows(
    owner: tuple[Page, list[str]], shop: Stack, tmp_path: Path
) -> None:
    page, errors = owner
    sign_in(page, shop, shop.admin_token)
    wait_for_report(page)
    with page.expect_download() as info:
        page.click("figure[data-table='patterns'] a.csv")
    path = tmp_path / "patterns.csv"
    info.value.save_as(path)
    header, *rows = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    assert header[:3] == ["day", "hesitant", "urgent"]
    assert len(rows) == 7 or len(rows) == 8
    shown = (
        page.locator("figure[data-table='patterns'] .table-wrap tbody tr").last.text_content() or ""
    )
    assert rows[-1][0] in shown
    assert errors == []


def test_a_one_time_link_signs_in_once(owner: tuple[Page, list[str]], shop: Stack) -> None:
    page, errors = owner
    link = rapport(shop, "site", "login", "Demo shop", "--url", shop.api).strip()
    page.goto(link)
    wait_for_report(page)
    assert "Demo shop" in (page.text_content("h1") or "")
    page.context.clear_cookies()
    reply = page.goto(link)
    assert reply is not None and reply.status == 403
    expect(page.locator(".error")).to_contain_text("used or has expired")
    assert [e for e in errors if "403" not in e] == []


def test_a_wrong_token_is_refused(owner: tuple[Page, list[str]], shop: Stack) -> None:
    page, _ = owner
    sign_in(page, shop, "sk_this-is-not-the-token-000000000000")
    expect(page.locator(".error")).to_contain_text("belongs to no site")
    assert page.context.cookies() == []


def test_another_sites_token_shows_only_that_site(
    owner: tuple[Page, list[str]], shop: Stack
) -> None:
    page, _ = owner
    other = json.loads(
        rapport(shop, "site", "add", "Other shop", "--origin", "https://other.example", "--json")
    )
    sign_in(page, shop, other["admin_token"])
    wait_for_report(page)
    assert "Other shop" in (page.text_content("h1") or "")
    report = page.evaluate("() => fetch('/dashboard/api/report').then(r => r.json())")
    assert report["site"] == other["site_key"] and report["visitors"] is None
    refused = page.evaluate(
        "([url, token]) => fetch(url, {headers: {Authorization: 'Bearer ' + token}})"
        ".then(r => r.status)",
        [f"/v1/admin/sites/{shop.site_key}/report", other["admin_token"]],
    )
    assert refused == 403


def test_an_expired_session_is_refused(owner: tuple[Page, list[str]], shop: Stack) -> None:
    page, _ = owner
    sign_in(page, shop, shop.admin_token)
    wait_for_report(page)
    path = shop.database.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE dashboard_sessions SET expires_at = 0")
    status = page.evaluate("() => fetch('/dashboard/api/report').then(r => r.status)")
    assert status == 401
    page.reload()
    expect(page.locator("#token")).to_be_visible()


def test_a_cross_site_post_is_refused(owner: tuple[Page, list[str]], shop: Stack) -> None:
    """A page of another origin (the shop) posts the sign-in form to the dashboard."""
    page, _ = owner
    page.goto(shop.shop + "/")
    with page.expect_response(f"{shop.api}/dashboard/sign-in") as reply:
        page.evaluate(
            """([action, token]) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = action;
                const input = document.createElement('input');
                input.name = 'token';
                input.value = token;
                form.appendChild(input);
                document.body.appendChild(form);
                form.submit();
            }""",
            [f"{shop.api}/dashboard/sign-in", shop.admin_token],
        )
    assert reply.value.status == 403
    assert page.context.cookies(shop.api) == []
