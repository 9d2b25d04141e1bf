"""What the browser did during a test: every request (page and workers) and every page error
(the kit's sync recorder; ``server.testing.assertions.watch`` does the same per page)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Request

__all__ = ["Recorder"]


@dataclass
class Recorder:
    """Every request the browser made, from the page and from its workers."""

    requests: list[Request] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def to(self, origin: str, path_prefix: str = "/") -> list[Request]:
        return [r for r in self.requests if r.url.startswith(origin + path_prefix)]

    def collect_bodies(self, api: str) -> list[dict[str, Any]]:
        return [
            json.loads(r.post_data or "null")
            for r in self.to(api, "/v1/collect")
            if r.method == "POST"
        ]
