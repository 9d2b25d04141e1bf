"""A site nobody here wrote, for the drop-in tests: plain pages (``owner_pages/``) on their own
origin, registered as their own site on the running stack, served with whatever headers a test
asks for (a strict CSP, Trusted Types…).

Pages carry placeholders: ``{{SDK}}`` (where rapport.js is), ``{{KEY}}`` (the site key),
``{{TAG_ATTRS}}`` (more attributes on the script tag), ``{{STUB}}`` (the copy-paste stub, as an
external script so a strict CSP allows it) and ``{{PLACE}}`` (the boxes' data-rapport-place).
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rapport.demo_site.stack import PLAYBOOK, REPO, Stack, free_port
from rapport.server.testing.pages import Reply, serve_origin
from rapport.server.testing.server import rapport_cli

__all__ = ["PAGES", "STUB_JS", "OwnerSite", "owner_site", "strict_csp"]

PAGES: Final = Path(__file__).resolve().parent / "owner_pages"
STUB_JS: Final = REPO / "wasm_build" / "src" / "stub.js"
_TYPES: Final = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}


def strict_csp(api: str, *, wasm: bool) -> str:
    """A strict policy (no inline script or style, nothing but our own origin and the API's);
    with ``wasm``, exactly what docs/client.md tells a site to add for Rapport."""
    script = f"script-src 'self' {api}" + (" 'wasm-unsafe-eval'" if wasm else "")
    return (
        f"default-src 'self'; {script}; worker-src blob:; connect-src 'self' {api}; "
        "style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'"
    )


@dataclass(frozen=True)
class OwnerSite:
    url: str
    site_key: str


@contextmanager
def owner_site(
    stack: Stack,
    *,
    headers: Mapping[str, str] | None = None,
    tag_attrs: str = "",
    stub: bool = False,
    place: str = "",
    sdk: str | None = None,
    playbook: Path = PLAYBOOK,
    register: bool = True,
    pages: Mapping[str, str] | None = None,
) -> Iterator[OwnerSite]:
    """Serve ``owner_pages/`` on a free port of ``localhost``, registered as a new site whose
    playbook is ``playbook`` (the demo's: no holdout). ``pages`` adds or replaces pages by
    path (their text gets the same placeholders filled in)."""
    port = free_port()
    origin = f"http://localhost:{port}"
    site_key = "pk_unregistered" + uuid.uuid4().hex[:12]
    if register:
        name = f"Owner {uuid.uuid4().hex[:8]}"
        keys = json.loads(
            rapport_cli(stack.database, "site", "add", name, "--origin", origin, "--json")
        )
        site_key = keys["site_key"]
        rapport_cli(stack.database, "site", "playbook", name, str(playbook))
    fill = {
        "{{SDK}}": html.escape(sdk if sdk is not None else stack.api + "/sdk"),
        "{{KEY}}": html.escape(site_key),
        "{{TAG_ATTRS}}": tag_attrs,
        "{{STUB}}": '<script src="/stub.js"></script>' if stub else "",
        "{{PLACE}}": html.escape(place),
    }
    extra = dict(pages or {})

    def respond(path: str) -> Reply | None:
        if path in extra:
            body, suffix = extra[path], Path(path).suffix or ".html"
        elif path == "/stub.js":
            body, suffix = STUB_JS.read_text(), ".js"
        else:
            file = PAGES / path.lstrip("/")
            if not path[1:] or "/" in path[1:] or not file.is_file():
                return None
            body, suffix = file.read_text(), file.suffix
        for key, value in fill.items():
            body = body.replace(key, value)
        page_headers = dict(headers or {}) if suffix == ".html" else {}
        return Reply(body.encode(), _TYPES.get(suffix, "text/plain"), page_headers)

    with serve_origin(respond, port=port):
        yield OwnerSite(origin, site_key)
