"""Moved into the testing kit: ``server.testing.recording`` (kept so imports keep working)."""

from rapport.server.testing.recording import Recorder

__all__ = ["Recorder"]
