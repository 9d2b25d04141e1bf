"""Site owners' API, authenticated by the site's admin token (``sk_…``)."""

from rapport.server.admin.controller import AdminController

__all__ = ["AdminController"]
