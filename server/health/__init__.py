"""Liveness and readiness: ``GET /healthz``."""

from rapport.server.health.controller import HealthController, HealthReply

__all__ = ["HealthController", "HealthReply"]
