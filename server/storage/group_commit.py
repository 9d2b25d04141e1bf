"""What both backends share: one group-commit writer per process and a hot-profile cache.

The backends differ in drivers and SQL, not in how a batch travels: a request submits its batch
to the writer, the writer commits whatever is queued in one transaction and only then answers,
and profiles written in that transaction go into this process's cache. Keeping that path in one
class means a fix to it (start order, drain on close, metrics hooks) lands in both backends.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapport.server.profiles import Profile, apply_observations
from rapport.server.report.cache import RollupCache
from rapport.server.report.rollup import ReachCache, RollupBuffer
from rapport.server.storage.base import FlushObserver, IngestBatch, IngestResult, Storage
from rapport.server.storage.profile_cache import ProfileCache
from rapport.server.storage.writer import GroupCommitWriter

__all__ = ["AppliedGroup", "GroupCommitStorage", "apply_group", "first_occurrences"]


class GroupCommitStorage(Storage):
    """A :class:`Storage` whose ingest goes through one :class:`GroupCommitWriter`.

    Subclasses open and close their connections and commit one group in :meth:`_flush`.
    """

    def __init__(
        self,
        *,
        writer_name: str,
        max_queue: int,
        max_group: int,
        enqueue_timeout: float,
        profile_cache_size: int,
    ) -> None:
        self._profiles = ProfileCache(profile_cache_size)
        self._writer: GroupCommitWriter[IngestBatch, IngestResult] = GroupCommitWriter(
            self._flush_group,
            max_queue=max_queue,
            max_group=max_group,
            enqueue_timeout=enqueue_timeout,
            name=writer_name,
            outage=self.outage,
        )
        self.rollups_enabled = True
        """Keep the report's rollups in the writer's transaction (``bench/`` turns it off)."""
        self._reach_cache = ReachCache()
        self._pending_rollups: RollupBuffer | None = None
        self._report_cache = RollupCache()

    @property
    def report_cache(self) -> RollupCache:
        return self._report_cache

    def _forget_visitor(self, site_id: int, visitor: str) -> None:
        """After an erase commits: drop the visitor from this process's caches (the report's
        closed days counted them)."""
        self._profiles.discard((site_id, visitor))
        self._reach_cache.forget(site_id, visitor)
        self._report_cache.forget_site(site_id)

    def _forget_site(self, site_id: int) -> None:
        """After a site's deletion commits: drop it from this process's caches."""
        self._profiles.discard_site(site_id)
        self._report_cache.forget_site(site_id)

    def _new_rollups(self) -> RollupBuffer | None:
        """A buffer for one group's report rollups, or ``None`` when they are off."""
        self._pending_rollups = RollupBuffer(self._reach_cache) if self.rollups_enabled else None
        return self._pending_rollups

    async def _flush_group(self, batches: Sequence[IngestBatch]) -> list[IngestResult]:
        """:meth:`_flush`, then remember the reach rows it committed (not before: a rolled
        back group must write them again)."""
        self._pending_rollups = None
        try:
            results = await self._flush(batches)
        except BaseException:
            self._pending_rollups = None
            raise
        if self._pending_rollups is not None:
            self._pending_rollups.mark_written()
            if self._report_cache:  # a batch received in a closed hour (an import, a test)
                self._report_cache.written(self._pending_rollups.hours())
            self._pending_rollups = None
        return results

    @abc.abstractmethod
    async def _open_connections(self) -> None:
        """Connect and bring the schema to head; called before the writer starts."""

    @abc.abstractmethod
    async def _close_connections(self) -> None:
        """Close whatever :meth:`_open_connections` opened, also after a failed open."""

    @abc.abstractmethod
    async def _flush(self, batches: Sequence[IngestBatch]) -> list[IngestResult]:
        """Commit one group in one transaction; one result per batch, in order."""

    async def open(self) -> None:
        try:
            await self._open_connections()
        except BaseException:
            await self._close_connections()
            raise
        self._writer.start()

    async def close(self) -> None:
        # The writer drains its queue first: every batch it accepted is committed (and
        # answered) before the connections go.
        try:
            await self._writer.close()
        finally:
            await self._close_connections()

    @property
    def accepting_writes(self) -> bool:
        return self._writer.running

    async def ingest(self, batch: IngestBatch) -> IngestResult:
        return await self._writer.submit(batch)

    @property
    def queue_depth(self) -> int:
        return self._writer.depth

    @property
    def profile_cache(self) -> ProfileCache:
        return self._profiles

    def set_flush_observer(self, observer: FlushObserver | None) -> None:
        self._writer.on_flush = observer


def first_occurrences(batches: Sequence[IngestBatch], inserted: set[tuple[int, str]]) -> list[bool]:
    """Which batches are new: inserted now, and the first of their id within the group (a batch
    retried while its first copy waits in the same group is a duplicate). Both backends' writers
    call this after their ``INSERT … ON CONFLICT DO NOTHING RETURNING`` into ``batches``."""
    seen: set[tuple[int, str]] = set()
    flags = []
    for b in batches:
        key = (b.site_id, b.batch_id)
        flags.append(key in inserted and key not in seen)
        seen.add(key)
    return flags


ProfileKey = tuple[int, str]
"""``(site_id, visitor)``."""


@dataclass(slots=True)
class AppliedGroup:
    """What :func:`apply_group` made of one group, for the backend to write."""

    results: list[IngestResult] = field(default_factory=list)
    """One per batch, in order."""
    changed: dict[ProfileKey, float] = field(default_factory=dict)
    """The profiles to upsert, with their ``updated_at`` (the last batch's receive time)."""
    stored: list[tuple[IngestBatch, Profile, Profile]] = field(default_factory=list)
    """Each newly stored batch with its visitor's profile before and after it (rollups)."""

    def add_rollups(self, rollups: RollupBuffer | None) -> None:
        """Count the stored batches into ``rollups`` (none when the rollups are off)."""
        if rollups is not None:
            for batch, before, after in self.stored:
                rollups.add(batch, before, after)


def apply_group(
    batches: Sequence[IngestBatch], is_new: Sequence[bool], profiles: dict[ProfileKey, Profile]
) -> AppliedGroup:
    """Apply each new batch's observations to its visitor's profile, in order.

    ``profiles`` holds the group's profiles as last committed and is updated in place; a
    duplicate batch changes nothing and is answered with the profile as it stands. Both
    backends' writers call this between reading and writing the profiles, so a visitor's
    profile evolves the same way whichever database holds it.
    """
    applied = AppliedGroup()
    for b, new in zip(batches, is_new, strict=True):
        key = (b.site_id, b.visitor)
        profile = before = profiles.get(key) or Profile()
        if new and b.observations:
            profile = apply_observations(
                profile, session=b.session, at=b.received_at, observations=b.observations
            )
            profiles[key] = profile
            applied.changed[key] = b.received_at
        if new:
            applied.stored.append((b, before, profile))
        applied.results.append(IngestResult(duplicate=not new, profile=profile))
    return applied
