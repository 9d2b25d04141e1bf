"""The SQLite writer's process, seen from the server: started with the storage, one trip at a
time, started again after it died.

The writer's steps (:mod:`.sqlite_group`) run in a child process so that SQLite's work and the
Python that binds its parameters never wait for the server's interpreter lock, nor the server
for theirs: the event loop answers the next requests while the child commits a group, on the
machine's other core (bench/README.md, issue 19).

Nothing is acknowledged that the child has not committed: a trip returns only once the child
answered it. A child that dies (killed, out of memory) fails the group it was writing with
:class:`~.base.StorageError` (the clients retry the batches, by their ids): its transaction
dies with its connection, unless it had committed, and then the retries are duplicates. The
next trip starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from rapport.server.storage import sqlite_group
from rapport.server.storage.base import StorageClosed, StorageError

__all__ = ["WriterProcess"]

log = logging.getLogger(__name__)

R = TypeVar("R")

_CHILD: Final = Path(sqlite_group.__file__).resolve()
# -I: none of the server's environment (PYTHONPATH, the working directory) reaches the child;
# -S: no site-packages either: the child imports the standard library alone.
_START: Final = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
# A child that does not end within this long after its pipe closed is killed; it only ever
# waits on SQLite, whose busy timeout bounds a statement.
_CLOSE_TIMEOUT: Final = 30.0


class WriterProcess:
    """A child process with the writer's one :mod:`sqlite3` connection.

    Trips run one at a time, in the order asked; the storage's ``_admin_lock`` keeps a group's
    two trips together. A trip whose caller is cancelled still completes (its answer is read
    and dropped), so that the next trip reads its own answer.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._process: asyncio.subprocess.Process | None = None
        self._connect_args: tuple[str, int] | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def open(self, path: Path, *, busy_timeout_ms: int) -> None:
        """Start the child and open its connection: a file it cannot open fails here."""
        self._connect_args = (str(path), int(busy_timeout_ms))
        async with self._lock:
            await self._started()

    @property
    def pid(self) -> int | None:
        """The child's process id, while one runs."""
        return None if self._process is None else self._process.pid

    async def run(self, step: Callable[..., R], *args: Any) -> R:
        """Run ``step(connection, *args)`` in the child; ``step`` is one of
        :data:`.sqlite_group.STEPS`."""
        if sqlite_group.STEPS.get(step.__name__) is not step:
            raise ValueError(f"{step.__name__} is not a step of the writer's process")
        trip = asyncio.ensure_future(self._trip(step.__name__, args))
        trip.add_done_callback(_retrieve)
        result: R = await asyncio.shield(trip)
        return result

    async def close(self) -> None:
        """End the child once the trips asked for are answered: its pipe closes, it closes its
        connection (rolling back a transaction left open) and exits."""
        async with self._lock:
            self._closed = True
            process, self._process = self._process, None
            if process is not None:
                await _end(process)

    async def _trip(self, name: str, args: tuple[Any, ...]) -> Any:
        async with self._lock:
            if self._closed:
                raise StorageClosed("SQLite storage is not open")
            process = await self._started()
            ok, value = await self._exchange(process, name, args)
        if not ok:
            raise value
        return value

    async def _started(self) -> asyncio.subprocess.Process:
        process = self._process
        if process is not None and process.returncode is None:
            return process
        if process is not None:  # ended between two groups: nothing was in flight
            log.warning(
                "%s ended (exit status %s); starting a new one", self.name, process.returncode
            )
            self._process = None
        assert self._connect_args is not None, "open() first"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", _START, str(_CHILD),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._process = process
        ok, value = await self._exchange(process, "connect", self._connect_args)
        if not ok:
            self._process = None
            await _end(process)
            raise value
        return process

    async def _exchange(
        self, process: asyncio.subprocess.Process, name: str, args: tuple[Any, ...]
    ) -> tuple[bool, Any]:
        assert process.stdin is not None and process.stdout is not None
        frame = pickle.dumps((name, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            process.stdin.write(len(frame).to_bytes(4, "little") + frame)
            await process.stdin.drain()
            head = await process.stdout.readexactly(4)
            body = await process.stdout.readexactly(int.from_bytes(head, "little"))
        except BaseException as exc:
            # A trip not answered leaves the pipe out of step: this child is done, and the
            # group fails unacknowledged. If the child got as far as its COMMIT, the group is
            # stored all the same: the clients' retries are then duplicates (and the storage
            # drops the group's cached profiles). The next trip starts a new child.
            if self._process is process:
                self._process = None
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.shield(process.wait())
            if isinstance(exc, ConnectionError | asyncio.IncompleteReadError):
                raise StorageError(
                    f"the SQLite writer process ended (exit status {process.returncode})"
                ) from exc
            raise
        answer: tuple[bool, Any] = pickle.loads(body)
        return answer


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        await asyncio.wait_for(process.wait(), _CLOSE_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def _retrieve(trip: asyncio.Future[Any]) -> None:
    """A trip whose caller was cancelled still fails or succeeds on its own; its error is the
    caller's (gone), not an unretrieved one to log."""
    if not trip.cancelled():
        trip.exception()
