"""``/dashboard/``: sign in with the admin token (or a one-time link), see the report.

* The token is typed once; the reply sets a session cookie (HttpOnly, SameSite=Strict,
  Secure on https, path ``/dashboard``) and the token is never stored in the browser.
* Every POST (sign in, sign out) must carry the dashboard's own ``Origin``; sign-out also
  needs the session's CSRF token from the page's form. A cross-site form post gets 403.
* ``/dashboard/api/report`` is the admin report for the session's site, so the page shows
  exactly what ``GET /v1/admin/sites/{key}/report`` returns (the k rule applied there).
* Pages and assets are served with a strict CSP (no inline script or style).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Final

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import File, Redirect
from litestar.status_codes import (
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from rapport.server.dashboard.assets import DashboardAssets
from rapport.server.dashboard.auth import (
    COOKIE,
    SESSION_TTL,
    DashboardSession,
    consume_link,
    create_session,
    end_session,
    find_session,
    same_origin,
    site_for_admin_token,
)
from rapport.server.dashboard.pages import CSP, dashboard_page, missing_assets_page, sign_in_page
from rapport.server.errors import ApiError
from rapport.server.report.build import build_report
from rapport.server.report.controller import DaysQuery, TableQuery, check_days, csv_response
from rapport.server.report.model import Report
from rapport.server.services import Services
from rapport.server.sites.model import Site

__all__ = ["DashboardController"]

_PAGE_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    # same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the
    # page's own form posts, which the CSRF check must refuse.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _assets(request: Request[Any, Any, Any]) -> DashboardAssets:
    assets: DashboardAssets = request.app.state.dashboard_assets
    return assets


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path="/dashboard",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _page(html: str, status: int = 200) -> Response[str]:
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def _check_origin(request: Request[Any, Any, Any]) -> None:
    """CSRF: a POST must come from a page of this very server."""
    if not same_origin(request.headers.get("origin"), request.headers.get("host"),
                       request.url.scheme):  # fmt: skip
        raise ApiError(HTTP_403_FORBIDDEN, "cross-site request refused", "Origin")


async def _session(request: Request[Any, Any, Any], services: Services) -> DashboardSession:
    session = await find_session(
        services.storage, request.cookies.get(COOKIE), now=services.clock()
    )
    if session is None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "sign in at /dashboard/ (session missing or expired)")
    return session


async def _signed_in(request: Request[Any, Any, Any], services: Services, site: Site) -> Redirect:
    token = await create_session(services.storage, site, now=services.clock())
    return Redirect(
        "/dashboard/",
        status_code=303,
        cookies=[_cookie(request, token, int(SESSION_TTL))],
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


class DashboardController(Controller):
    """The dashboard's pages, sign-in and data (not part of the public API document)."""

    path = "/dashboard"
    include_in_schema = False

    @get("/", cache=False)
    async def home(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[str]:
        """The dashboard when signed in, else the sign-in form."""
        names = _assets(request).manifest()
        if names is None:
            return _page(missing_assets_page(), HTTP_503_SERVICE_UNAVAILABLE)
        js, css = names
        session = await find_session(
            services.storage, request.cookies.get(COOKIE), now=services.clock()
        )
        if session is None:
            return _page(sign_in_page(css, js))
        return _page(dashboard_page(css, js, site_name=session.site.name, csrf=session.csrf))

    @post("/sign-in", status_code=303)
    async def sign_in(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[Any]:
        """Form field ``token``: the site's admin token; a wrong one shows the form again."""
        _check_origin(request)
        form = await request.form()
        token = str(form.get("token") or "").strip()
        site = await site_for_admin_token(services.storage, token) if token else None
        if site is None:
            names = _assets(request).manifest() or ("", "")
            return _page(
                sign_in_page(names[1], names[0], "That admin token belongs to no site."),
                HTTP_403_FORBIDDEN,
            )
        return await _signed_in(request, services, site)

    @get("/link/{token:str}", cache=False)
    async def link(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        token: Annotated[str, PathParameter(description="One-time sign-in token.")],
    ) -> Response[Any]:
        """A one-time link from ``rapport site login``: works once, for a few minutes."""
        site = await consume_link(services.storage, token, now=services.clock())
        if site is None:
            names = _assets(request).manifest() or ("", "")
            return _page(
                sign_in_page(names[1], names[0], "That sign-in link was used or has expired."),
                HTTP_403_FORBIDDEN,
            )
        return await _signed_in(request, services, site)

    @post("/sign-out", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Redirect:
        _check_origin(request)
        session = await _session(request, services)
        form = await request.form()
        if not hmac.compare_digest(str(form.get("csrf") or ""), session.csrf):
            raise ApiError(HTTP_403_FORBIDDEN, "missing or wrong CSRF token", "csrf")
        await end_session(services.storage, request.cookies.get(COOKIE))
        return Redirect("/dashboard/", status_code=303, cookies=[_cookie(request, "", 0)])

    @get("/api/report", cache=False)
    async def report(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        days: DaysQuery = 7,
    ) -> Report:
        session = await _session(request, services)
        return await build_report(services.storage, session.site, days=check_days(days),
                                  now=services.clock())  # fmt: skip

    @get("/api/report.csv", cache=False, media_type="text/csv; charset=utf-8")
    async def report_csv(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        table: TableQuery,
        days: DaysQuery = 7,
    ) -> Response[str]:
        session = await _session(request, services)
        return await csv_response(services, session.site, days, table)

    @get("/assets/{name:str}")
    async def asset(
        self,
        request: Request[Any, Any, Any],
        name: Annotated[str, PathParameter(description="dashboard.<hash>.js or .css")],
    ) -> File:
        """A content-hashed file: cached for a year, never changes under its name."""
        path = _assets(request).path(name)
        if path is None:
            raise ApiError(HTTP_404_NOT_FOUND, "no such dashboard file")
        media = "text/javascript" if name.endswith(".js") else "text/css"
        return File(
            path,
            media_type=f"{media}; charset=utf-8",
            content_disposition_type="inline",
            headers={
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
            },
        )
