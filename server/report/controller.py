"""``GET /v1/admin/sites/{site_key}/report``: the dashboard's numbers, for the site owner.

Same authorisation as the other admin endpoints (``Authorization: Bearer sk_…`` of *this*
site). The k rule is applied in :mod:`server.report.build`, so the JSON and the CSV never
carry a number about fewer than k distinct visitors.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from rapport.server.admin.controller import authorise_admin
from rapport.server.errors import ApiError
from rapport.server.openapi import SiteKeyPath, error_responses
from rapport.server.report.build import MAX_DAYS, build_report
from rapport.server.report.csv import find_table, table_csv
from rapport.server.report.model import Report
from rapport.server.services import Services
from rapport.server.sites.model import Site

__all__ = ["DaysQuery", "ReportController", "TableQuery", "check_days", "csv_response"]

DaysQuery = Annotated[
    int,
    QueryParameter(description=f"Length of the range in days, up to now (1–{MAX_DAYS})."),
]
TableQuery = Annotated[str, QueryParameter(description="The table's id, e.g. `traffic`.")]
_CSV_TYPE: Final = "text/csv; charset=utf-8"


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ApiError(
            HTTP_422_UNPROCESSABLE_ENTITY, f"days must be between 1 and {MAX_DAYS}", "days"
        )
    return days


async def csv_response(services: Services, site: Site, days: int, table_id: str) -> Response[str]:
    """One table of the report as a CSV download (404 for an unknown table id)."""
    report = await build_report(services.storage, site, days=check_days(days),
                                now=services.clock())  # fmt: skip
    table = find_table(report, table_id)
    if table is None:
        raise ApiError(HTTP_404_NOT_FOUND, f"no table {table_id!r} in the report", "table")
    filename = f"rapport-{site.name}-{table.id}-{days}d.csv".replace(" ", "_").replace('"', "")
    return Response(
        table_csv(table, report.k),
        media_type=_CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ReportController(Controller):
    """The site owner's report."""

    path = "/v1/admin/sites"
    tags = ["admin"]  # noqa: RUF012 - Litestar's class attribute

    @get(
        "/{site_key:str}/report",
        responses=error_responses(403, 404, 422, 503),
        summary="The dashboard's report: traffic, patterns, friction, emotions, chat, hints, "
        "uplift, funnel — k-anonymous",
        cache=False,
    )
    async def report(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        site_key: SiteKeyPath,
        days: DaysQuery = 7,
    ) -> Report:
        """Requires the site's admin token. Any number involving fewer than ``k`` distinct
        visitors is ``null``; read from the rollups the writer keeps, never raw signals."""
        site = await authorise_admin(request, services, site_key)
        return await build_report(services.storage, site, days=check_days(days),
                                  now=services.clock())  # fmt: skip

    @get(
        "/{site_key:str}/report.csv",
        responses=error_responses(403, 404, 422, 503),
        summary="One table of the report as CSV (suppressed cells read `< k`)",
        cache=False,
        media_type=_CSV_TYPE,
    )
    async def report_csv(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        site_key: SiteKeyPath,
        table: TableQuery,
        days: DaysQuery = 7,
    ) -> Response[str]:
        """Requires the site's admin token."""
        site = await authorise_admin(request, services, site_key)
        return await csv_response(services, site, days, table)
