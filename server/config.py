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
    "REPO_ROOT",
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then ``RAPPORT_DATABASE_URL`` / ``RAPPORT_SDK_DIR``, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if url := env.get("RAPPORT_DATABASE_URL"):
            values["database_url"] = url
        if sdk := env.get("RAPPORT_SDK_DIR"):
            values["sdk_dir"] = Path(sdk)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
