"""The site owner's dashboard at ``/dashboard/``: sign-in, pages, the report for the page."""

from rapport.server.dashboard.controller import DashboardController

__all__ = ["DashboardController"]
