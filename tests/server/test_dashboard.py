"""``/dashboard/``: sign-in into a session cookie, one-time links, CSRF, expiry, CSP.

The browser tests (tests/e2e/test_dashboard_in_the_browser.py) draw the charts; these pin
the HTTP rules.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from rapport.server.cli import main
from rapport.server.dashboard.auth import COOKIE, LINK_TTL, SESSION_TTL, create_link
from rapport.server.sites.model import NewSite
from tests.server.conftest import Api


def own_origin(api: Api) -> str:
    url = api.client.base_url
    return f"{url.scheme}://{url.netloc.decode()}"


def sign_in(api: Api, token: str, origin: str | None = None) -> Any:
    headers = {"Origin": origin or own_origin(api)}
    return api.client.post(
        "/dashboard/sign-in", data={"token": token}, headers=headers, follow_redirects=False
    )


def report(api: Api) -> Any:
    return api.client.get("/dashboard/api/report", params={"days": 7})


@pytest.fixture
def site(api: Api) -> NewSite:
    return api.add_site("Shop A")


def test_signing_in_with_the_admin_token_sets_a_strict_httponly_session_cookie(
    api: Api, site: NewSite
) -> None:
    reply = sign_in(api, site.admin_token)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/dashboard/"
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    assert site.admin_token not in cookie
    body = report(api).json()
    assert body["site"] == site.site.site_key
    page = api.client.get("/dashboard/")
    assert "Shop A" in page.text and 'action="/dashboard/sign-out"' in page.text


def test_a_wrong_token_is_refused_and_the_form_says_so(api: Api, site: NewSite) -> None:
    reply = sign_in(api, "sk_not-a-token-of-any-site-000000")
    assert reply.status_code == 403
    assert "belongs to no site" in reply.text
    assert COOKIE not in reply.headers.get("set-cookie", "")
    assert report(api).status_code == 401


def test_another_sites_token_opens_only_that_site(api: Api, site: NewSite) -> None:
    other = api.add_site("Shop B")
    assert sign_in(api, other.admin_token).status_code == 303
    assert report(api).json()["site"] == other.site.site_key
    assert "Shop A" not in api.client.get("/dashboard/").text
    refused = api.client.get(
        f"/v1/admin/sites/{site.site.site_key}/report",
        headers={"Authorization": f"Bearer {other.admin_token}"},
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("origin", ["https://evil.example", ""])
def test_a_cross_site_or_originless_sign_in_post_is_refused(
    api: Api, site: NewSite, origin: str
) -> None:
    headers = {"Origin": origin} if origin else {}
    reply = api.client.post("/dashboard/sign-in", data={"token": site.admin_token}, headers=headers)
    assert reply.status_code == 403
    assert report(api).status_code == 401


def test_sign_out_needs_the_pages_csrf_token_and_ends_the_session(api: Api, site: NewSite) -> None:
    sign_in(api, site.admin_token)
    page = api.client.get("/dashboard/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    headers = {"Origin": own_origin(api)}
    forged = api.client.post("/dashboard/sign-out", data={"csrf": "guess"}, headers=headers)
    assert forged.status_code == 403
    cross = api.client.post(
        "/dashboard/sign-out",
        data={"csrf": csrf.group(1)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert report(api).status_code == 200
    out = api.client.post(
        "/dashboard/sign-out", data={"csrf": csrf.group(1)}, headers=headers, follow_redirects=False
    )
    assert out.status_code == 303
    assert report(api).status_code == 401


def test_an_expired_session_is_refused(api: Api, site: NewSite) -> None:
    sign_in(api, site.admin_token)
    assert report(api).status_code == 200
    api.clock.advance(SESSION_TTL + 1)
    assert report(api).status_code == 401
    assert 'action="/dashboard/sign-in"' in api.client.get("/dashboard/").text


def test_a_one_time_link_signs_in_once(api: Api, site: NewSite) -> None:
    token = api.run(lambda: create_link(api.storage, site.site, now=api.clock()))
    first = api.client.get(f"/dashboard/link/{token}", follow_redirects=False)
    assert first.status_code == 303
    assert report(api).json()["site"] == site.site.site_key
    api.client.cookies.clear()
    again = api.client.get(f"/dashboard/link/{token}", follow_redirects=False)
    assert again.status_code == 403
    assert "used or has expired" in again.text
    assert report(api).status_code == 401


def test_a_one_time_link_expires(api: Api, site: NewSite) -> None:
    token = api.run(lambda: create_link(api.storage, site.site, now=api.clock()))
    api.clock.advance(LINK_TTL + 1)
    assert api.client.get(f"/dashboard/link/{token}", follow_redirects=False).status_code == 403


def test_rapport_site_login_prints_a_working_link(api: Api, site: NewSite) -> None:
    from click.testing import CliRunner

    api.clock.now = time.time()  # the command stamps the link with the real clock
    url = str(api.storage.path)  # type: ignore[attr-defined]
    result = CliRunner().invoke(
        main, ["site", "login", "Shop A", "--database", f"sqlite:///{url}", "--url", "http://x"]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[0]
    assert link.startswith("http://x/dashboard/link/")
    reply = api.client.get(link.removeprefix("http://x"), follow_redirects=False)
    assert reply.status_code == 303


def test_pages_have_a_strict_csp_and_no_inline_script(api: Api, site: NewSite) -> None:
    signed_out = api.client.get("/dashboard/")
    sign_in(api, site.admin_token)
    signed_in = api.client.get("/dashboard/")
    for reply in (signed_out, signed_in):
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        scripts = re.findall(r"<script([^>]*)>", reply.text)
        assert scripts and all("src=" in attrs for attrs in scripts)
        assert "style=" not in reply.text and "<style" not in reply.text


def test_assets_are_content_hashed_and_immutable(api: Api) -> None:
    page = api.client.get("/dashboard/").text
    names = re.findall(r"/dashboard/assets/(dashboard\.[0-9a-f]{12}\.(?:js|css))", page)
    assert {n.rsplit(".", 1)[1] for n in names} == {"js", "css"}
    for name in names:
        reply = api.client.get(f"/dashboard/assets/{name}")
        assert reply.status_code == 200
        assert "immutable" in reply.headers["cache-control"]
    js = next(n for n in names if n.endswith(".js"))
    assert "uPlot" in api.client.get(f"/dashboard/assets/{js}").text
    assert api.client.get("/dashboard/assets/../../server/app.py").status_code == 404
    assert api.client.get("/dashboard/assets/dashboard.000000000000.js").status_code == 404


def test_dashboard_csv_is_the_reports_table_under_k(api: Api, site: NewSite) -> None:
    sign_in(api, site.admin_token)
    reply = api.client.get("/dashboard/api/report.csv", params={"days": 7, "table": "traffic"})
    assert reply.status_code == 200
    assert reply.headers["content-disposition"].startswith("attachment;")
    header, *rows = reply.text.splitlines()
    assert header == "day,visitors,sessions,camera consent (share of sessions)"
    assert rows and all(row.endswith("< 5,< 5,< 5") for row in rows)
