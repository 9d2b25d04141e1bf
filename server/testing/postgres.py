"""A throwaway PostgreSQL cluster from the Debian binaries: made, started, stopped, removed.

Used by the server tests (``tests/server/pg_cluster.py`` adds pytest's skip) and by the
benches (``bench/report.py``, ``bench/ingest.py``), which need a PostgreSQL without importing
the test suite. Tests run it with ``fsync=off`` (the OS does not crash in tests); the ingest
bench runs it **durable** by default — ``fsync``, ``synchronous_commit`` and
``full_page_writes`` on, as a deployment runs it — because that is the figure users compare.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rapport.server.testing.server import free_port

__all__ = ["PgCluster", "cluster", "free_port", "pg_bin"]


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's binary directory, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PgCluster:
    """``initdb`` in a temporary directory, on a free port; under ``runuser -u postgres`` when
    running as root (PostgreSQL refuses root).

    ``durable=False`` (tests): ``fsync=off``, ``full_page_writes=off`` and
    ``synchronous_commit`` as asked — fast, and a stopped server loses nothing the OS was given.
    ``durable=True``: all three on.
    """

    def __init__(
        self, bin_dir: Path, *, synchronous_commit: bool = False, durable: bool = False
    ) -> None:
        self.bin_dir = bin_dir
        self.durable = durable
        self.synchronous_commit = "on" if synchronous_commit or durable else "off"
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
        """Over TCP on the loopback interface."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def socket_url(self) -> str:
        """Over the cluster's Unix socket (in :attr:`base`), as a client on the same host
        connects by default."""
        return f"postgresql://postgres@/postgres?host={self.base}&port={self.port}"

    @property
    def settings(self) -> dict[str, str]:
        """The durability settings the server was started with."""
        on = "on" if self.durable else "off"
        return {"fsync": on, "synchronous_commit": self.synchronous_commit,
                "full_page_writes": on}  # fmt: skip

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
        settings = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 {settings}"
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
def cluster(*, synchronous_commit: bool = False, durable: bool = False) -> Iterator[PgCluster]:
    """A started cluster, removed afterwards; ``RuntimeError`` when none can be made."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries not found (/usr/lib/postgresql/*/bin)")
    made = PgCluster(bin_dir, synchronous_commit=synchronous_commit, durable=durable)
    try:
        made.create()
    except (subprocess.CalledProcessError, OSError) as exc:
        made.remove()
        raise RuntimeError(f"could not start a throwaway PostgreSQL: {exc}") from exc
    try:
        yield made
    finally:
        made.remove()
