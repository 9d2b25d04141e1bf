"""A throwaway PostgreSQL cluster from the Debian binaries: made, started, stopped, removed.

The session fixture ``postgres_admin_url`` runs one for the whole suite; the outage test runs
its own, because it stops it on purpose.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["PgCluster", "free_port", "pg_bin", "rows_per_batch", "throwaway_cluster"]


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """``initdb`` in a temporary directory, on a free port, ``fsync=off`` (the OS does not
    crash in tests; a stopped server loses nothing the OS was given); under
    ``runuser -u postgres`` when running as root (PostgreSQL refuses root)."""

    def __init__(self, bin_dir: Path, *, synchronous_commit: bool = False) -> None:
        self.bin_dir = bin_dir
        # Off is fast; on when the test stops the server hard and counts what was committed
        # (with it off a commit is acknowledged before its WAL is written).
        self.synchronous_commit = "on" if synchronous_commit else "off"
        self.base = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            entry = pwd.getpwnam(user)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self.run_as = ["runuser", "-u", user, "--"]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args],
            check=True, capture_output=True,
        )  # fmt: skip

    def create(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c synchronous_commit={self.synchronous_commit} "
            "-c full_page_writes=off"
        )
        self._pg_ctl("-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def throwaway_cluster(*, synchronous_commit: bool = False) -> Iterator[PgCluster]:
    """A started cluster, removed afterwards; the test skips when none can be made."""
    bin_dir = pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries not found and RAPPORT_TEST_POSTGRES_URL not set")
    cluster = PgCluster(bin_dir, synchronous_commit=synchronous_commit)
    try:
        cluster.create()
    except (subprocess.CalledProcessError, OSError) as exc:
        cluster.remove()
        pytest.skip(f"could not start a throwaway PostgreSQL: {exc}")
    try:
        yield cluster
    finally:
        cluster.remove()


def rows_per_batch(url: str) -> dict[str, tuple[int, int]]:
    """batch id → (batch rows, signal rows), counted in the database itself."""
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def fetch() -> dict[str, tuple[int, int]]:
        conn = await asyncpg.connect(url)
        try:
            batches = await conn.fetch("SELECT batch_id, COUNT(*) FROM batches GROUP BY batch_id")
            signals = await conn.fetch("SELECT batch_id, COUNT(*) FROM signals GROUP BY batch_id")
        finally:
            await conn.close()
        per_batch = {r[0]: int(r[1]) for r in signals}
        return {r[0]: (int(r[1]), per_batch.get(r[0], 0)) for r in batches}

    return asyncio.run(fetch())
