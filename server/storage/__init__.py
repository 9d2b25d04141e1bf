"""Storage behind one interface (:class:`Storage`), chosen by a database URL."""

from server.storage.base import (
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
    VisitorBatch,
    VisitorData,
    VisitorSignal,
)
from server.storage.factory import create_storage
from server.storage.urls import DatabaseURL, InvalidDatabaseURL, parse_database_url

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
    "VisitorBatch",
    "VisitorData",
    "VisitorSignal",
    "create_storage",
    "parse_database_url",
]
