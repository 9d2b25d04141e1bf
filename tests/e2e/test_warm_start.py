"""Warm start: the first page saves Python's memory, the next pages restore it (issue 19).

The worker takes Pyodide's memory snapshot right after importing client_py, before the Agent
holds the site's config or the visitor's state, and keeps it (its non-zero pages) in
the page origin's Cache Storage under its own hashed file name. These tests read what the worker
did from its own start-up marks (``self.rapportBoot``, never sent) and open the saved snapshot
from the page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from rapport.demo_site.stack import Stack
from rapport.server.testing.recording import Recorder

pytestmark = pytest.mark.e2e

PRODUCT = "/product/aria-headphones.html"
TYPED = "Zanzibarian question typed while Python starts"

# Resolves once the worker's snapshot is in Cache Storage (it is written after `ready`).
SAVED = """async () => {
  for (let i = 0; i < 200; i++) {
    const keys = await (await caches.open("rapport-boot")).keys();
    if (keys.length) return keys.map((k) => k.url);
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}"""

# The saved snapshot, searched for each needle (bytes read as Latin-1, needles ASCII).
# The entry is sparse (worker.mjs `pack`): Python's memory length (u32, little-endian), one byte
# per 4 KB page (kept or zero), then the kept pages in order. A needle has no zero byte, so it
# lies within kept pages, which follow each other in the entry as in memory.
CONTAINS = """async (needles) => {
  const cache = await caches.open("rapport-boot");
  const [key] = await cache.keys();
  const bytes = new Uint8Array(await (await cache.match(key)).arrayBuffer());
  const size = new DataView(bytes.buffer).getUint32(0, true);
  const pages = Math.ceil(size / 4096);
  let kept = 0, expected = 4 + pages;
  for (let p = 0; p < pages; p++)
    if (bytes[4 + p]) { kept++; expected += Math.min(4096, size - p * 4096); }
  const text = new TextDecoder("latin1").decode(bytes);
  return {
    size, pages, kept, complete: bytes.length === expected,
    found: needles.filter((n) => text.includes(n)),
  };
}"""


def boot_marks(page: Page) -> dict[str, object]:
    for worker in page.workers:
        marks = worker.evaluate("() => self.rapportBoot || null")
        if marks:
            return dict(marks)
    return {}


def open_ready(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("() => window.rapport && window.rapport.ready", timeout=60_000)
    assert page.evaluate("() => window.rapport.ready") is True


def test_the_next_page_restores_python_from_the_first_pages_snapshot(
    stack: Stack, page: Page, recorder: Recorder
) -> None:
    open_ready(page, stack.shop + PRODUCT)
    assert boot_marks(page)["snapshot"] == "made"
    keys = page.evaluate(SAVED)
    assert len(keys) == 1 and "/sdk/worker." in keys[0]

    before = len(recorder.collect_bodies(stack.api))
    open_ready(page, stack.shop + "/")
    assert boot_marks(page)["snapshot"] == "restored"
    # The restored Python runs the visit: the home page's events reach the server.
    page.mouse.move(200, 200)
    page.locator("body").click(position={"x": 5, "y": 5})
    deadline = 30
    while len(recorder.collect_bodies(stack.api)) <= before and deadline:
        page.wait_for_timeout(1000)
        deadline -= 1
    assert len(recorder.collect_bodies(stack.api)) > before
    assert recorder.page_errors == []


def test_the_saved_snapshot_holds_nothing_of_the_site_the_visitor_or_the_page(
    stack: Stack, page: Page
) -> None:
    page.goto(stack.shop + PRODUCT)
    page.locator("#question").fill(TYPED)  # typed while Python may still be starting
    page.wait_for_function("() => window.rapport && window.rapport.ready", timeout=60_000)
    page.mouse.move(300, 300)
    assert page.evaluate(SAVED)
    secret = page.evaluate("() => localStorage.getItem('rapport:vs')")
    assert secret
    needles = [stack.site_key, secret, "aria-headphones", "Zanzibarian", stack.api]
    result = page.evaluate(CONTAINS, needles)
    assert result["size"] > 10_000_000  # Python's whole memory, not an empty entry
    assert result["complete"]  # every kept page is in the entry, after the header, whole
    assert 0 < result["kept"] < result["pages"]  # sparse: zero pages are left out
    assert result["found"] == []
