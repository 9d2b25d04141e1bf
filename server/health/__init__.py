"""Liveness and readiness: ``GET /healthz``."""

from server.health.controller import HealthController, HealthReply

__all__ = ["HealthController", "HealthReply"]
