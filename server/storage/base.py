"""The one storage interface every backend implements.

Handlers, the CLI and the tests talk only to :class:`Storage`, so SQLite (the embedded
default) and PostgreSQL (for several server processes) are interchangeable by URL. The
semantics every backend must keep:

* :meth:`Storage.ingest` is idempotent on ``(site_id, batch_id)``: a retried batch reports
  ``duplicate=True`` and its signals are not stored again.
* :meth:`Storage.ingest` returns only after the batch is committed (a reply after queueing
  lost acknowledged rows in measurements), and batches are group-committed by one writer.
* The visitor's profile is updated in the same transaction as the batch, so hints computed
  from the returned profile never run ahead of, or behind, what is stored.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from server.profiles import Observations, Profile
from server.sites.model import NewSite, Site

__all__ = [
    "IngestBatch",
    "IngestResult",
    "SiteNameTaken",
    "Storage",
    "StorageBusy",
    "StorageClosed",
    "StorageError",
    "StoredSignal",
]


class StorageError(Exception):
    """A storage operation failed for a reason the caller cannot fix by changing input."""


class StorageBusy(StorageError):
    """The write queue stayed full: back-pressure; the client should retry later (503)."""


class StorageClosed(StorageError):
    """The storage is shutting down or was never opened."""


class SiteNameTaken(StorageError):
    """A site with this name already exists (names are unique so scripts can find them)."""


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """One validated signal as stored: its kind and its JSON text (the kind included)."""

    kind: str
    body: str


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """A validated batch, ready to store."""

    site_id: int
    visitor: str
    session: str
    batch_id: str
    received_at: float
    signals: Sequence[StoredSignal]
    observations: Observations


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The outcome of storing one batch, known only after commit."""

    duplicate: bool
    profile: Profile
    """The visitor's profile as committed, for computing the reply's hints."""


class Storage(abc.ABC):
    """Abstract storage backend; see the module docstring for the guarantees."""

    backend: ClassVar[str]

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect, apply pending migrations and start the writer."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop accepting writes, drain the write queue, commit, and disconnect."""

    async def __aenter__(self) -> Storage:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    @abc.abstractmethod
    def accepting_writes(self) -> bool:
        """True while the group-commit writer runs (between open and close)."""

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The highest applied migration; also a cheap reachability check."""

    # -- sites -------------------------------------------------------------------------

    @abc.abstractmethod
    async def create_site(self, name: str, origins: Sequence[str], *, now: float) -> NewSite:
        """Create a site with fresh keys; ``origins`` must already be normalised.

        Raises :class:`SiteNameTaken` if the name exists.
        """

    @abc.abstractmethod
    async def set_site_origins(self, site_id: int, origins: Sequence[str]) -> None:
        """Replace a site's allowed origins (already normalised)."""

    @abc.abstractmethod
    async def list_sites(self) -> list[Site]:
        """All sites, oldest first."""

    @abc.abstractmethod
    async def site_by_key(self, site_key: str) -> Site | None:
        """The site with this public key, if any."""

    @abc.abstractmethod
    async def site_by_name(self, name: str) -> Site | None:
        """The site with this name, if any."""

    # -- ingest and profiles -------------------------------------------------------------

    @abc.abstractmethod
    async def ingest(self, batch: IngestBatch) -> IngestResult:
        """Store a batch idempotently through the group-commit writer; reply after commit."""

    @abc.abstractmethod
    async def profile(self, site_id: int, visitor: str) -> Profile:
        """A visitor's profile (empty if none is stored)."""

    @abc.abstractmethod
    async def count_signals(self, site_id: int, batch_id: str | None = None) -> int:
        """How many signals are stored for a site (or one of its batches).

        A full scan (the signals table has no secondary index by design): for operators
        and tests, never for a request path.
        """
