"""Ingest: validation of what leaves the device, and ``POST /v1/collect``.

The controller is imported from :mod:`server.ingest.controller` (it depends on the OpenAPI
helpers, which depend on the schema exported here).
"""

from rapport.server.ingest.extract import extract_observations, to_stored_signals
from rapport.server.ingest.schema import BATCH_DECODER, SIGNAL_STRUCTS, CollectBatch

__all__ = [
    "BATCH_DECODER",
    "SIGNAL_STRUCTS",
    "CollectBatch",
    "extract_observations",
    "to_stored_signals",
]
