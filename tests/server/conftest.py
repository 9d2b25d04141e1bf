"""Fixtures for the server tests: a real app on a real SQLite file, and a real PostgreSQL.

PostgreSQL: set ``RAPPORT_TEST_POSTGRES_URL`` (a database the tests may create databases
in) or let the ``postgres_admin_url`` fixture start a throwaway cluster from
``/usr/lib/postgresql/*/bin`` in a temp dir on a free port. PostgreSQL refuses to run as
root, so when the tests run as root the cluster runs as the ``postgres`` user (or
``nobody``) through ``runuser``. Without binaries or a URL the PostgreSQL cases skip.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import TestClient

from rapport.client_py.identity import visitor_id_from_key, visitor_key_from_secret
from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.holdout import in_control
from rapport.server.sites.model import NewSite
from rapport.server.storage import Storage
from tests.server.pg_cluster import throwaway_cluster

T = TypeVar("T")

ORIGIN = "https://shop.example"
OTHER_ORIGIN = "https://other.example"
#: ``/metrics`` needs a token (or a loopback client; the TestClient's address is not one).
METRICS_TOKEN = "metrics-test-token"
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeClock:
    """A wall clock the test moves by hand (hint expiry depends on it)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Api:
    """The app under test, behind Litestar's TestClient (lifespan included)."""

    client: TestClient[Any]
    storage: Storage
    clock: FakeClock
    sdk_dir: Path
    _counter: list[int] = field(default_factory=lambda: [0])

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine on the app's event loop (storage lives there)."""
        return self.client.blocking_portal.call(fn)

    def add_site(self, name: str | None = None, origins: tuple[str, ...] = (ORIGIN,)) -> NewSite:
        self._counter[0] += 1
        site_name = name or f"Site {self._counter[0]}"
        created = self.run(lambda: self.storage.create_site(site_name, origins, now=self.clock()))
        self.client.app.state.services.sites.invalidate()
        return created

    def hints(self, site_key: str, visitor: str, **headers: str) -> Any:
        """``GET /v1/hints`` of the test visitor named ``visitor``, proven by its key."""
        headers.setdefault("Authorization", f"Bearer {key_of(visitor)}")
        return self.client.get(
            f"/v1/hints/{id_of(visitor)}", params={"site": site_key}, headers=headers
        )

    def count_signals(self, site_id: int, batch_id: str | None = None) -> int:
        return self.run(lambda: self.storage.count_signals(site_id, batch_id))

    def collect(
        self, body: Any, *, origin: str | None = ORIGIN, content_type: str = "application/json"
    ) -> Any:
        headers = {"Content-Type": content_type}
        if origin is not None:
            headers["Origin"] = origin
        content = body if isinstance(body, bytes) else _json(body)
        return self.client.post("/v1/collect", content=content, headers=headers)


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    clock = FakeClock()
    sdk_dir = tmp_path / "sdk"
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        sdk_dir=sdk_dir,
        max_body_bytes=64 * 1024,
        metrics_token=METRICS_TOKEN,
    )
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=sdk_dir)


def secret_of(visitor: str) -> str:
    """The visitor secret of a test visitor named ``visitor`` (what its browser keeps; export
    and erasure need it)."""
    return f"test-secret-of-{visitor}"


def key_of(visitor: str) -> str:
    """The visitor key of a test visitor named ``visitor`` (its secret is made from the name)."""
    return visitor_key_from_secret(secret_of(visitor))


def id_of(visitor: str) -> str:
    """The visitor id the server stores for the test visitor named ``visitor``."""
    return visitor_id_from_key(key_of(visitor))


def treated_visitor(site_id: int, prefix: str = "visitor") -> str:
    """The name of a test visitor outside the default playbook's 10 % holdout (so it gets its
    hints); its id is ``id_of(name)``."""
    return next(
        f"{prefix}-{i:04d}"
        for i in range(1000)
        if not in_control(site_id, id_of(f"{prefix}-{i:04d}"), 0.1)
    )


def batch(
    site_key: str,
    signals: list[dict[str, Any]] | None = None,
    *,
    visitor: str = "visitor-0001",
    session: str = "session-0001",
    batch_id: str | None = None,
) -> dict[str, Any]:
    """A collect body from the test visitor named ``visitor`` (stored under ``id_of``)."""
    return {
        "site": site_key,
        "key": key_of(visitor),
        "session": session,
        "batch": batch_id or "batch-" + uuid.uuid4().hex[:12],
        "signals": signals or [],
    }


@pytest.fixture
def make_batch() -> Callable[..., dict[str, Any]]:
    return batch


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server where tests may create databases."""
    if url := os.environ.get("RAPPORT_TEST_POSTGRES_URL"):
        yield url
        return
    with throwaway_cluster() as cluster:
        yield cluster.admin_url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    import asyncpg  # type: ignore[import-untyped]

    name = "rapport_test_" + uuid.uuid4().hex[:12]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres_admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs against both backends (same tests, two modes)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    return str(request.getfixturevalue("postgres_url"))
