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
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec

from rapport.server.profiles import Observations, Profile
from rapport.server.sites.model import NewSite, Site
from rapport.server.storage.outage import OutageLog
from rapport.server.storage.profile_cache import ProfileCache
from rapport.server.storage.visitor_tables import VisitorTable

if TYPE_CHECKING:
    from rapport.server.report.cache import RollupCache

__all__ = [
    "Delivery",
    "FeedbackRow",
    "FlushObserver",
    "HintLogRow",
    "IngestBatch",
    "IngestResult",
    "SiteNameTaken",
    "SiteStats",
    "Storage",
    "StorageBusy",
    "StorageClosed",
    "StorageError",
    "StoredSignal",
    "StoredSignals",
    "VisitorReader",
    "Webhook",
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


class StoredSignal(msgspec.Struct, frozen=True):
    """One validated signal as stored: its kind and its JSON text (the kind included).

    A msgspec struct, not a frozen dataclass: one is built per signal on the ingest path, and
    a frozen dataclass's ``__init__`` made that a tenth of ``/v1/collect``'s main-thread time.
    """

    kind: str
    body: str


class _Kind(msgspec.Struct):
    kind: str


_RAW_ELEMENTS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_KIND: Final = msgspec.json.Decoder(_Kind)
_KINDS: Final = msgspec.json.Decoder(list[_Kind])


class StoredSignals(msgspec.Struct, frozen=True):
    """A batch's validated signals as stored: one JSON array whose elements are the signals'
    JSON texts, each with its ``kind`` tag.

    The handler encodes a batch once instead of once per signal, and SQLite's writer splits
    the array itself (``json_each``, in C, on its own thread). A row per signal cost Python on
    the event loop twice: built in the handler (7.5 µs per 20-signal batch), then flattened
    into the insert's parameters (≈ 2 µs); together 7.5 % of collect's main-thread samples
    under load (bench/README.md, issue 19). PostgreSQL stores the array as it is, in the
    batch's row (migration 0009). :meth:`rows` is the inverse of :meth:`of`.
    """

    json: str
    """``[{"kind":…,…},…]``, as msgspec encodes it: no whitespace."""
    count: int
    """The array's length: the batch's span of signal ids is reserved from it."""

    @classmethod
    def of(cls, signals: Sequence[StoredSignal]) -> StoredSignals:
        """From signal rows (imports, tests, benches): each body must carry its ``kind``.

        Raises ``ValueError`` if a body is not a JSON object tagged with its row's kind:
        storage takes the kind from the body, so a mismatch would store another kind.
        """
        for signal in signals:
            try:
                tagged = _KIND.decode(signal.body).kind
            except msgspec.DecodeError:
                tagged = None
            if tagged != signal.kind:
                raise ValueError(f"signal body {signal.body!r} is not tagged kind {signal.kind!r}")
        return cls("[" + ",".join(s.body for s in signals) + "]", len(signals))

    def rows(self) -> list[StoredSignal]:
        """One row per signal, in order: the body is the element's JSON text unchanged."""
        kinds = _KINDS.decode(self.json)
        bodies = _RAW_ELEMENTS.decode(self.json)
        return [StoredSignal(k.kind, bytes(b).decode()) for k, b in zip(kinds, bodies, strict=True)]


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """A validated batch, ready to store."""

    site_id: int
    visitor: str
    session: str
    batch_id: str
    received_at: float
    signals: StoredSignals
    observations: Observations


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The outcome of storing one batch, known only after commit."""

    duplicate: bool
    profile: Profile
    """The visitor's profile as committed, for computing the reply's hints."""


class VisitorReader(abc.ABC):
    """One visitor's rows, read in bounded chunks from one consistent snapshot.

    Made by :meth:`Storage.visitor_reader` for the export: memory stays at one chunk
    whatever the visitor stored, and each table is read through its ``(site_id, visitor)``
    index, never by scanning other visitors' rows.
    """

    @abc.abstractmethod
    def rows(
        self, table: VisitorTable, *, offset: int, limit: int, chunk: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The table's exported columns for this visitor, ``limit`` rows from ``offset``
        in the table's export order, in lists of at most ``chunk`` rows."""


@dataclass(frozen=True, slots=True)
class SiteStats:
    """Row counts for one site (full scans: for admins, not for request hot paths)."""

    signals: int
    batches: int
    visitors: int
    """Distinct visitors that sent at least one stored batch."""
    profiles: int


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One ``POST /v1/feedback`` as stored."""

    hint_id: str
    outcome: str
    at: float


@dataclass(frozen=True, slots=True)
class HintLogRow:
    """The first time a hint was computed for a visitor (treated and control alike)."""

    site_id: int
    visitor: str
    hint_id: str
    kind: str
    pattern: str
    strength: float
    arm: str
    """``treated`` (sent to the page) or ``control`` (holdout: computed, not sent)."""
    first_at: float


@dataclass(frozen=True, slots=True)
class Webhook:
    """A site's CRM webhook."""

    id: int
    site_id: int
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one webhook, and how its delivery went."""

    id: int
    webhook_id: int
    site_id: int
    event: str
    body: str
    """The exact JSON text that is POSTed and signed."""
    status: str
    """``pending``, ``delivered`` or ``failed`` (gave up)."""
    attempts: int
    next_attempt_at: float
    last_status: int
    last_error: str
    created_at: float
    delivered_at: float


#: Tables of the hints engine that hold per-site rows (deleted with the site).
SITE_TABLES = ("site_config", "hint_feedback", "hint_log", "webhooks", "webhook_deliveries")


class Storage(abc.ABC):
    """Abstract storage backend; see the module docstring for the guarantees."""

    backend: ClassVar[str]
    _outage: OutageLog | None = None

    @property
    def outage(self) -> OutageLog:
        """Whether the database is down (one log line per outage; see ``outage.py``)."""
        if self._outage is None:
            self._outage = OutageLog(self.backend)
        return self._outage

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
        """The applied Alembic revision as a number (``"0003"`` → 3), 0 before any; also a
        cheap reachability check."""

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
    async def erase_visitor(self, site_id: int, visitor: str) -> dict[str, int]:
        """Delete the visitor's rows from every table of
        :data:`~server.storage.visitor_tables.VISITOR_TABLES` (their pending webhook
        deliveries included, so none is sent after the erasure). The last step is one
        transaction over every table; SQLite first removes signals and batches in small
        chunks so that a huge visitor does not hold its one writer for long.

        Returns the number of rows removed per table.
        """

    @abc.abstractmethod
    def visitor_reader(
        self, site_id: int, visitor: str
    ) -> contextlib.AbstractAsyncContextManager[VisitorReader]:
        """A :class:`VisitorReader` on one snapshot, held until the context exits."""

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
        """Delete rows older than ``before`` (unix s): raw signals, batch records, the hint
        log, hint feedback and webhook deliveries that are no longer pending.

        Profiles are kept. Returns the number of rows removed per table.
        """

    # -- operations -----------------------------------------------------------------------

    @property
    @abc.abstractmethod
    def queue_depth(self) -> int:
        """Batches waiting for the group-commit writer."""

    @property
    def profile_cache(self) -> ProfileCache | None:
        """The process's hot-profile cache, if the backend keeps one (for ``/metrics``)."""
        return None

    @property
    def report_cache(self) -> RollupCache | None:
        """The process's cache of the report's closed days, if the backend keeps one (the
        backend keeps it coherent with its writes and erasures: ``server/report/cache.py``)."""
        return None

    @abc.abstractmethod
    def set_flush_observer(self, observer: FlushObserver | None) -> None:
        """Install a callback the writer calls after each committed group (metrics)."""

    # -- hints engine (migration 2): portable SQL over two primitives ----------------------

    @abc.abstractmethod
    async def sql_execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement (``?`` placeholders) outside the ingest writer; rows."""

    @abc.abstractmethod
    async def sql_fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one query (``?`` placeholders) on the read side."""

    @abc.abstractmethod
    async def site_profiles(self, site_id: int) -> list[tuple[str, Profile]]:
        """Every profile of a site, by visitor (a full scan of ``profiles`` for one site)."""
