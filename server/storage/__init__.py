"""Storage behind one interface (:class:`Storage`), chosen by a database URL."""

from rapport.server.storage.base import (
    FlushObserver,
    IngestBatch,
    IngestResult,
    SiteNameTaken,
    SiteStats,
    Storage,
    StorageBusy,
    StorageClosed,
    StorageError,
    StoredSignal,
    StoredSignals,
)
from rapport.server.storage.factory import create_storage
from rapport.server.storage.urls import DatabaseURL, InvalidDatabaseURL, parse_database_url

__all__ = [
    "DatabaseURL",
    "FlushObserver",
    "IngestBatch",
    "IngestResult",
    "InvalidDatabaseURL",
    "SiteNameTaken",
    "SiteStats",
    "Storage",
    "StorageBusy",
    "StorageClosed",
    "StorageError",
    "StoredSignal",
    "StoredSignals",
    "create_storage",
    "parse_database_url",
]
