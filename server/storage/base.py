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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from server.profiles import Observations, Profile
from server.sites.model import NewSite, Site

__all__ = [
    "FlushObserver",
    "IngestBatch",
    "IngestResult",
    "SiteNameTaken",
    "SiteStats",
    "Storage",
    "StorageBusy",
    "StorageClosed",
    "StorageError",
    "StoredSignal",
    "VisitorBatch",
    "VisitorData",
    "VisitorSignal",
]

#: Called by the writer after each committed group: (batches in the group, seconds taken).
FlushObserver = Callable[[int, float], None]


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


@dataclass(frozen=True, slots=True)
class VisitorSignal:
    """One stored signal of a visitor, as the visitor may see it."""

    kind: str
    body: str
    """The signal's JSON text, exactly as stored (``kind`` included)."""
    batch_id: str
    session: str
    received_at: float


@dataclass(frozen=True, slots=True)
class VisitorBatch:
    """One stored batch (idempotency record) of a visitor."""

    batch_id: str
    session: str
    signal_count: int
    received_at: float


@dataclass(frozen=True, slots=True)
class VisitorData:
    """Everything stored about one visitor of one site."""

    profile: Profile | None
    """``None`` when no profile row exists."""
    signals: list[VisitorSignal]
    batches: list[VisitorBatch]


@dataclass(frozen=True, slots=True)
class SiteStats:
    """Row counts for one site (full scans: for admins, not for request hot paths)."""

    signals: int
    batches: int
    visitors: int
    """Distinct visitors that sent at least one stored batch."""
    profiles: int


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

    # -- visitor rights -------------------------------------------------------------------

    @abc.abstractmethod
    async def visitor_data(self, site_id: int, visitor: str) -> VisitorData:
        """Everything stored about a visitor of a site (signals oldest first).

        Full scans of ``signals`` and ``batches`` (no index on visitor, by design).
        """

    @abc.abstractmethod
    async def erase_visitor(self, site_id: int, visitor: str) -> dict[str, int]:
        """Delete the visitor's signals, batches and profile in one transaction.

        Returns the number of rows removed per table (``signals``, ``batches``,
        ``profiles``).
        """

    # -- site administration --------------------------------------------------------------

    @abc.abstractmethod
    async def site_admin_token_hash(self, site_id: int) -> str | None:
        """The stored SHA-256 hex of the site's admin token (``None``: no such site)."""

    @abc.abstractmethod
    async def rotate_site_key(self, site_id: int) -> str:
        """Give the site a new public key and return it; the old key stops working."""

    @abc.abstractmethod
    async def delete_site(self, site_id: int) -> dict[str, int]:
        """Delete a site and all its rows in one transaction; counts per table."""

    @abc.abstractmethod
    async def site_stats(self, site_id: int) -> SiteStats:
        """Row counts for one site."""

    # -- retention ------------------------------------------------------------------------

    @abc.abstractmethod
    async def prune(self, before: float) -> dict[str, int]:
        """Delete raw signals and batch records received before ``before`` (unix s).

        Profiles are kept. Returns the number of rows removed per table.
        """

    # -- operations -----------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def queue_depth(self) -> int:
        """Batches waiting for the group-commit writer."""

    @abc.abstractmethod
    def set_flush_observer(self, observer: FlushObserver | None) -> None:
        """Install a callback the writer calls after each committed group (metrics)."""
