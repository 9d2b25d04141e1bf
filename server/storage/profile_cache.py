"""In-process cache of visitor profiles, kept coherent with the database by the writer.

``GET /v1/hints`` reads one profile per request. Reading it from SQLite costs two hops to
aiosqlite's thread and back, shared with the writer's thread (on PostgreSQL, a round trip to
the server); under a steady 5k req/s those hops, not the query, made the latency tail. The
cache is coherent because every profile change passes through a group-commit writer, which
stores the committed value here, and erasure invalidates here after its commit. On SQLite
there is one writer process per file. On PostgreSQL several processes each have their own
writer and cache, so every change is also announced with NOTIFY and every other process
drops it from its cache (``server/storage/postgres_notify.py``).

Every key remembers the epoch of its last change (store or invalidation). A reader that missed
fills the cache only if the key did not change while it read, and the writer stores a
committed profile only if nobody invalidated that key since its transaction began: either
could otherwise put back a value that a racing commit or erasure replaced (on PostgreSQL the
invalidation from another process may arrive before or after this process's own writer
resumes). Cached profiles are shared objects: treat them as read-only
(``apply_observations`` returns a new profile and never mutates its input).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from rapport.server.profiles import Profile

__all__ = ["ProfileCache"]

Key = tuple[int, str]


class ProfileCache:
    """Least-recently-used map ``(site_id, visitor) → Profile`` with per-key change epochs."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self.epoch = 0
        """Bumped by every store and invalidation."""
        self._items: OrderedDict[Key, Profile] = OrderedDict()
        self._changed: OrderedDict[Key, int] = OrderedDict()
        """Epoch of each key's last change, for the most recently changed keys."""
        self._forgotten_up_to = 0
        """Changes at or before this epoch may have been dropped from ``_changed``."""
        self.hits = 0
        self.misses = 0
        """Lookups by readers (``get``), for ``/metrics``."""

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Key) -> Profile | None:
        profile = self._items.get(key)
        if profile is None:
            self.misses += 1
        else:
            self.hits += 1
            self._items.move_to_end(key)
        return profile

    async def read_through(self, key: Key, load: Callable[[], Awaitable[Profile]]) -> Profile:
        """The cached profile, or ``load()``'s, remembered unless ``key`` changed meanwhile.

        A visitor without a stored profile is cached too (``load`` returns an empty one):
        pages ask for hints before a visitor's first batch has been stored.
        """
        cached = self.get(key)
        if cached is not None:
            return cached
        epoch = self.epoch
        profile = await load()
        self.fill(key, profile, read_at_epoch=epoch)
        return profile

    def changed_since(self, key: Key, epoch: int) -> bool:
        """Whether ``key`` may have been stored or invalidated after ``epoch``."""
        changed = self._changed.get(key)
        if changed is not None:
            return changed > epoch
        return epoch < self._forgotten_up_to

    def store(self, key: Key, profile: Profile, *, unless_changed_since: int | None = None) -> None:
        """The committed profile of ``key`` (the writer, after its commit).

        With ``unless_changed_since`` (the epoch when the writer's transaction began) a key
        invalidated meanwhile is dropped instead: the invalidation may be newer.
        """
        if unless_changed_since is not None and self.changed_since(key, unless_changed_since):
            self.discard(key)
            return
        self._touch(key)
        if self.capacity > 0:
            self._items[key] = profile
            self._items.move_to_end(key)
            self._evict()

    def fill(self, key: Key, profile: Profile, *, read_at_epoch: int) -> None:
        """Remember a profile read from the database, unless ``key`` changed meanwhile."""
        if self.capacity > 0 and not self.changed_since(key, read_at_epoch):
            self._items[key] = profile
            self._items.move_to_end(key)
            self._evict()

    def discard(self, key: Key) -> None:
        self._touch(key)
        self._items.pop(key, None)

    def discard_site(self, site_id: int) -> None:
        for key in [k for k in self._items if k[0] == site_id]:
            del self._items[key]
        self._forget_all()

    def clear(self) -> None:
        self._items.clear()
        self._forget_all()

    def _touch(self, key: Key) -> None:
        self.epoch += 1
        self._changed[key] = self.epoch
        self._changed.move_to_end(key)
        while len(self._changed) > max(1024, 2 * self.capacity):
            _, forgotten = self._changed.popitem(last=False)
            self._forgotten_up_to = forgotten

    def _forget_all(self) -> None:
        """Treat every key as changed now (site deletion, lost notifications)."""
        self.epoch += 1
        self._changed.clear()
        self._forgotten_up_to = self.epoch

    def _evict(self) -> None:
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
