"""Site owners' API, authenticated by the site's admin token (``sk_…``)."""

from server.admin.controller import AdminController

__all__ = ["AdminController"]
