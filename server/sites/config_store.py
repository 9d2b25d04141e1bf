"""A site's stored configuration texts (``playbook``, ``model``, report settings): the SQL."""

from __future__ import annotations

from rapport.server.storage.base import Storage

__all__ = ["set_site_config", "site_config"]


async def site_config(storage: Storage, site_id: int, name: str) -> str | None:
    """A site's stored configuration text (``playbook``, ``model`` …), if any."""
    rows = await storage.sql_fetch(
        "SELECT data FROM site_config WHERE site_id = ? AND name = ?", (site_id, name)
    )
    return str(rows[0][0]) if rows else None


async def set_site_config(
    storage: Storage, site_id: int, name: str, data: str, *, now: float
) -> None:
    """Store (or replace) a site's configuration text."""
    await storage.sql_execute(
        "INSERT INTO site_config (site_id, name, data, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (site_id, name) DO UPDATE SET data = excluded.data, "
        "updated_at = excluded.updated_at",
        (site_id, name, data, float(now)),
    )
