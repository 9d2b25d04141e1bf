"""Training a site's models from its stored profiles and storing them."""

from __future__ import annotations

import msgspec

from rapport.server.scoring.model import ScoreModel, train
from rapport.server.sites import config_store
from rapport.server.storage.base import Storage

__all__ = ["train_site"]


async def train_site(storage: Storage, site_id: int, *, now: float) -> dict[str, ScoreModel]:
    """Fit ``conversion`` and ``abandon`` on the site's profiles; store them as ``model``."""
    profiles = [p for _, p in await storage.site_profiles(site_id)]
    models = {t: train(profiles, t, now=now) for t in ("conversion", "abandon")}
    await config_store.set_site_config(
        storage, site_id, "model", msgspec.json.encode(models).decode(), now=now
    )
    return models
