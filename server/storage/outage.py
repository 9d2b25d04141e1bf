"""Storage outages: which errors mean "the database is unavailable", and logging them once.

When PostgreSQL stops or restarts, or SQLite stays locked or the disk is full, every request
that touches the database fails the same way. Each used to end as a 500 with a full
traceback (238 tracebacks for a 3 s PostgreSQL stop). Here such errors are recognised
(:func:`is_outage`) so that the API answers **503 with ``Retry-After``** (``server/errors.py``)
and :class:`OutageLog` writes **one line when an outage starts and one when it ends** in
this process, however many requests failed in between. The end is noticed by the next
successful group commit or ``/healthz`` query (load balancers poll it).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Final

import asyncpg  # type: ignore[import-untyped]

__all__ = ["OUTAGE_RETRY_AFTER", "OutageLog", "is_outage"]

log = logging.getLogger("rapport.server.storage.outage")
# asyncpg's pool logs a WARNING with a full traceback at every attempt to reconnect while the
# database is down; the outage log says it once.
logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)

#: Seconds a client is told to wait before retrying during an outage.
OUTAGE_RETRY_AFTER: Final = 2

_OUTAGE_ERRNOS: Final = frozenset(
    {errno.ENOSPC, errno.EIO, errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE,
     errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENOTCONN}
)  # fmt: skip
_OUTAGE_TYPES: Final[tuple[type[BaseException], ...]] = (
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    sqlite3.OperationalError,  # database is locked, disk full, disk I/O error
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # connection closed mid-query
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # disk full, too many connections
)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database is unavailable."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, _OUTAGE_TYPES):
            return True
        if isinstance(current, OSError) and current.errno in _OUTAGE_ERRNOS:
            return True  # disk full or I/O error; an unreachable host
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _reason(exc: BaseException) -> str:
    """The error's class names down the cause chain: no raw messages (they may hold DSNs)."""
    names: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(names) < 3:
        names.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    return " ← ".join(names)


class OutageLog:
    """This process's view of the database: up, or down since when (one per storage)."""

    def __init__(self, backend: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._backend = backend
        self._clock = clock
        self._since: float | None = None
        self._refused = 0

    @property
    def down(self) -> bool:
        """True between the first failure and the next success."""
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        """A request or commit failed because the database is unavailable."""
        self._refused += 1
        if self._since is None:
            self._since = self._clock()
            log.warning(
                "storage unavailable (%s: %s); answering 503 with Retry-After until it is back",
                self._backend,
                _reason(exc),
            )

    def report(
        self, exc: BaseException, logger: logging.Logger, message: str, *args: object
    ) -> None:
        """For background tasks: an outage goes to this log (one line per outage), any
        other error to ``logger`` with its traceback."""
        if is_outage(exc):
            self.failed(exc)
        else:
            logger.error(message, *args, exc_info=exc)

    def recovered(self) -> None:
        """The database answered again; logs the end of an outage if there was one."""
        if self._since is None:
            return
        seconds = self._clock() - self._since
        log.warning(
            "storage available again (%s) after %.1f s; %d request(s) failed meanwhile",
            self._backend,
            seconds,
            self._refused,
        )
        self._since = None
        self._refused = 0
