"""Server settings: defaults, environment variables, and the paths they resolve to."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_DEMO_DATABASE_URL",
    "ENV_VARIABLES",
    "REPO_ROOT",
    "SETTINGS_ENV",
    "Settings",
    "default_sdk_dir",
]

#: The repository root (the folder holding ``server/`` and ``wasm_build/``).
REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL: Final = "sqlite:///rapport.db"
DEFAULT_DEMO_DATABASE_URL: Final = "sqlite:///.cache/demo.db"


def default_sdk_dir() -> Path:
    """Where ``rapport build-sdk`` writes the bundle: ``wasm_build/dist`` in the repo."""
    return REPO_ROOT / "wasm_build" / "dist"


#: Numeric settings read from the environment (``rapport serve`` options set them too).
ENV_VARIABLES: Final[dict[str, tuple[str, type[float] | type[int]]]] = {
    "RAPPORT_RATE_PER_IP": ("rate_per_ip", float),
    "RAPPORT_RATE_PER_SITE": ("rate_per_site", float),
    "RAPPORT_RETENTION_DAYS": ("retention_days", float),
    "RAPPORT_MAX_BODY_BYTES": ("max_body_bytes", int),
    "RAPPORT_MAX_HEADER_BYTES": ("max_header_bytes", int),
}

#: Boolean settings read from the environment ("1", "true" or "yes" switch them on).
_FLAGS: Final = {
    "RAPPORT_ADMIN_CORS": "admin_cors",
    "RAPPORT_ALLOW_PRIVATE_WEBHOOKS": "allow_private_webhooks",
}

#: The ``Settings`` field each ``RAPPORT_*`` variable sets (``rapport serve`` options too).
SETTINGS_ENV: Final[dict[str, str]] = {
    "database_url": "RAPPORT_DATABASE_URL",
    "sdk_dir": "RAPPORT_SDK_DIR",
    "metrics_token": "RAPPORT_METRICS_TOKEN",
    **{attribute: name for name, attribute in _FLAGS.items()},
    **{attribute: name for name, (attribute, _) in ENV_VARIABLES.items()},
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything ``create_app`` needs; immutable so that it can be shared freely."""

    database_url: str = DEFAULT_DATABASE_URL
    sdk_dir: Path = field(default_factory=default_sdk_dir)
    max_body_bytes: int = 256 * 1024
    """Larger collect bodies get 413: 200 signals fit in well under 64 KB."""
    writer_queue_size: int = 1024
    """Batches waiting for the group-commit writer before requests feel back-pressure."""
    writer_max_group: int = 256
    """Most batches committed in one transaction."""
    enqueue_timeout: float = 5.0
    """How long a request waits for room in a full write queue before a 503."""
    site_cache_ttl: float = 5.0
    """Seconds a looked-up site (and the set of allowed origins) is trusted."""
    rate_per_ip: float = 50.0
    """Requests per second per client IP on ``/v1/*`` (burst: twice that); 0 disables."""
    rate_per_site: float = 5000.0
    """Requests per second per site key on ``/v1/*`` (burst: twice that); 0 disables."""
    rate_max_keys: int = 100_000
    """Most buckets kept per limiter (idle ones are evicted first)."""
    retention_days: float = 90.0
    """Raw signals and batch records older than this are deleted; 0 keeps them forever."""
    retention_interval: float = 3600.0
    """Seconds between two retention runs of the background task."""
    max_header_bytes: int = 16 * 1024
    """Request headers (names and values summed) above this get 431."""
    metrics_token: str | None = None
    """``GET /metrics`` requires ``Authorization: Bearer <token>``; unset: loopback clients only."""
    admin_cors: bool = False
    """Answer CORS for ``/v1/admin/*`` (site owners' own dashboards in a browser); off: admin
    calls come from servers, and no page of any site can read their replies."""
    allow_private_webhooks: bool = False
    """Deliver webhooks to loopback, private and link-local addresses (tests, on-premise CRMs)."""
    rights_per_minute_per_ip: float = 30.0
    """Visitor export/erase calls a minute per client IP (burst: as many); 0 disables."""
    rights_per_minute_per_visitor: float = 6.0
    """Visitor export/erase calls a minute per visitor, once its secret checked out."""
    export_max_rows: int = 100_000
    """Rows per table in one page of a visitor's export (``next_page`` continues)."""
    export_concurrency: int = 2
    """Visitor exports streaming at once per process (others: 503 with Retry-After)."""
    export_deadline: float = 120.0
    """Seconds an export may take to be read before its stream is cut."""
    export_share: float = 0.05
    """Share of the time the visitor exports of a process may keep it busy, all together
    (paced between chunks, so other requests keep their latency; ``bench/rights_load.py``);
    1: unpaced."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``RAPPORT_*`` variables (see :data:`ENV_VARIABLES`), then
        ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if url := env.get("RAPPORT_DATABASE_URL"):
            values["database_url"] = url
        if sdk := env.get("RAPPORT_SDK_DIR"):
            values["sdk_dir"] = Path(sdk)
        if token := env.get("RAPPORT_METRICS_TOKEN"):
            values["metrics_token"] = token
        for name, attribute in _FLAGS.items():
            if env.get(name, "").lower() in ("1", "true", "yes"):
                values[attribute] = True
        for name, (attribute, kind) in ENV_VARIABLES.items():
            if (raw := env.get(name)) not in (None, ""):
                try:
                    values[attribute] = kind(raw)
                except ValueError:
                    raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
