"""Keeping every process's profile cache coherent on PostgreSQL with LISTEN/NOTIFY.

Several server processes share one PostgreSQL database, and each has its own writer and its
own :class:`~server.storage.profile_cache.ProfileCache`. A transaction that changes or
erases profiles also sends ``NOTIFY rapport_profiles`` with their keys; PostgreSQL delivers
it to every listening process when (and only if) the transaction commits, and each process
drops those keys from its cache. A process then serves another process's change after at
most the notification's delivery time (sub-millisecond on one host), and never after an
erasure has been delivered.

If the listening connection is lost, notifications may be missed: the cache is emptied and
switched off until the connection is back (a reconnect loop retries every second), so a
lost connection costs speed, never correctness. An erasure's notification also makes every
process sweep the visitor once its writer has committed what it had accepted (a batch queued
in another process when the erase ran); a process that was not listening then misses that
sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

import asyncpg  # type: ignore[import-untyped]
import msgspec

from rapport.server.storage.profile_cache import ProfileCache

__all__ = ["CHANNEL", "ProfileInvalidations", "notify_payloads", "send_notifications"]

log = logging.getLogger(__name__)

CHANNEL: Final = "rapport_profiles"
# PostgreSQL's payload limit is 8000 bytes; stay under it with room for the JSON framing.
_MAX_PAYLOAD: Final = 7000


class _Message(msgspec.Struct, omit_defaults=True):
    keys: list[tuple[int, str]] = msgspec.field(default_factory=list)
    site: int | None = None
    """A whole site was deleted."""
    erased: bool = False
    """The keys' visitors were erased: each process also sweeps what it stored of them."""


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Message).decode


def notify_payloads(
    keys: Iterable[tuple[int, str]] = (), *, site: int | None = None, erased: bool = False
) -> list[str]:
    """The ``pg_notify`` payloads that invalidate ``keys`` (or a whole ``site``); ``erased``:
    those visitors were erased, and every process sweeps them (:class:`ProfileInvalidations`)."""
    if site is not None:
        return [_encode(_Message(site=site)).decode()]
    payloads: list[str] = []
    chunk: list[tuple[int, str]] = []
    size = 0
    for key in keys:
        entry = len(key[1]) + 24
        if chunk and size + entry > _MAX_PAYLOAD:
            payloads.append(_encode(_Message(keys=chunk, erased=erased)).decode())
            chunk, size = [], 0
        chunk.append(key)
        size += entry
    if chunk:
        payloads.append(_encode(_Message(keys=chunk, erased=erased)).decode())
    return payloads


async def send_notifications(conn: Any, payloads: Sequence[str]) -> None:
    """Queue the notifications in ``conn``'s open transaction (sent on commit)."""
    if payloads:
        await conn.execute(
            "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", CHANNEL, payloads
        )


class ProfileInvalidations:
    """Listens on :data:`CHANNEL` and applies what it hears to one process's cache.

    ``on_erased`` hears the keys of every erasure, also another process's: a batch of that
    visitor that this process accepted before the erasure committed, but commits after it,
    would otherwise stay stored (the erasing process can wait only for its own writer).
    """

    def __init__(
        self,
        dsn: str,
        cache: ProfileCache,
        on_erased: Callable[[list[tuple[int, str]]], None] | None = None,
    ) -> None:
        self._dsn = dsn
        self._cache = cache
        self._on_erased = on_erased
        self._capacity = cache.capacity
        """The cache's size while listening; it is switched to 0 while not."""
        self._conn: Any = None
        self._reconnect: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> None:
        if self._capacity <= 0 and self._on_erased is None:
            return
        await self._listen()

    async def close(self) -> None:
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.add_listener(CHANNEL, self._on_notification)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._on_lost)
        self._conn = conn
        # Anything could have changed while nobody listened: start empty.
        self._cache.clear()
        self._cache.capacity = self._capacity

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = _decode(payload)
        except msgspec.DecodeError:
            log.warning("ignoring a malformed %s notification", CHANNEL)
            return
        if message.site is not None:
            self._cache.discard_site(message.site)
        for key in message.keys:
            self._cache.discard(key)
        if message.erased and message.keys and self._on_erased is not None:
            self._on_erased(list(message.keys))

    def _on_lost(self, _conn: Any) -> None:
        self._conn = None
        self._cache.capacity = 0
        self._cache.clear()
        if self._closing:
            return
        log.warning(
            "profile cache off, and erasures heard by no sweep here: lost the %s listener "
            "connection; reconnecting",
            CHANNEL,
        )
        self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(1.0)
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.debug("still no %s listener: %s", CHANNEL, exc)  # one line per outage
                continue
            log.info("profile cache and erasure sweeps back on: listening on %s again", CHANNEL)
            return
