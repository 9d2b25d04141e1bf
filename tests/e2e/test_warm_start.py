"""Warm start: the first page saves Python's memory, the next pages restore it (issue 19).

The worker takes Pyodide's memory snapshot right after importing client_py, before the Agent
holds the site's config or the visitor's state, and keeps it (its non-zero pages), with the
WebAssembly it runs on, in one file of the page origin's private file system (OPFS,
``rapport-boot/<worker file>.boot``). These tests read what the worker did from its own start-up
marks (``self.rapportBoot``, never sent) and open the saved file from the page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from rapport.demo_site.stack import Stack
from rapport.server.testing.recording import Recorder

pytestmark = pytest.mark.e2e

PRODUCT = "/product/aria-headphones.html"
TYPED = "Zanzibarian question typed while Python starts"

# Resolves with the names of the saved boots once one is whole: its first u32 set (the worker
# writes it last) and the file as long as its header says (worker.mjs `pack`). The worker holds
# the file alone while writing it, so `getFile()` fails until then.
SAVED = """async () => {
  const whole = async (file) => {
    const [size, wasm] = new Uint32Array(await file.slice(0, 8).arrayBuffer());
    if (!size) return false;
    const pages = Math.ceil(size / 4096);
    const kept = new Uint8Array(await file.slice(8, 8 + pages).arrayBuffer());
    let length = 8 + pages + wasm;
    kept.forEach((k, p) => { if (k) length += Math.min(4096, size - p * 4096); });
    return file.size === length;
  };
  for (let i = 0; i < 200; i++) {
    const names = [];
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await root.getDirectoryHandle("rapport-boot");
      for await (const [name, handle] of dir.entries())
        if (await whole(await handle.getFile())) names.push(name);
    } catch {} // not there yet, or the worker is still writing it
    if (names.length) return names;
    await new Promise((r) => setTimeout(r, 100));
  }
  return [];
}"""

# The saved boot, searched for each needle (bytes read as Latin-1, needles ASCII).
# Its layout (worker.mjs `pack`): Python's memory length and the wasm's (u32, little-endian), one
# byte per 4 KB page of the memory (kept or zero), the kept pages in order, then the wasm. A needle
# has no zero byte, so it lies within kept pages, which follow each other as in memory.
CONTAINS = """async (needles) => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("rapport-boot");
  let file = null;
  for await (const [, handle] of dir.entries()) file = await handle.getFile();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const [size, wasm] = new Uint32Array(bytes.buffer, 0, 2);
  const pages = Math.ceil(size / 4096);
  let kept = 0, memoryEnd = 8 + pages;
  for (let p = 0; p < pages; p++)
    if (bytes[8 + p]) { kept++; memoryEnd += Math.min(4096, size - p * 4096); }
  const text = new TextDecoder("latin1").decode(bytes);
  return {
    size, pages, kept, wasm, complete: bytes.length === memoryEnd + wasm,
    wasm_magic: Array.from(bytes.subarray(memoryEnd, memoryEnd + 4)),
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
    names = page.evaluate(SAVED)
    assert len(names) == 1 and names[0].startswith("worker.") and names[0].endswith(".boot")

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
    assert result["complete"]  # the header, every kept page whole, then the wasm
    assert 0 < result["kept"] < result["pages"]  # sparse: zero pages are left out
    assert result["wasm"] > 5_000_000 and result["wasm_magic"] == [0, 97, 115, 109]  # "\0asm"
    assert result["found"] == []


# Damages the saved boot `name` as a crash while writing it would: its first u32 still 0 (the
# worker writes it last), or the file cut short.
DAMAGE = """async ([name, how]) => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("rapport-boot");
  const handle = await dir.getFileHandle(name);
  const size = (await handle.getFile()).size;
  const writer = await handle.createWritable({ keepExistingData: true });
  const zeros = new Uint8Array(4);
  if (how === "unfinished") await writer.write({ type: "write", position: 0, data: zeros });
  else await writer.truncate(size - 4096);
  await writer.close();
}"""


@pytest.mark.parametrize("how", ["unfinished", "cut short"])
def test_a_damaged_saved_boot_is_not_restored_and_the_next_page_saves_a_whole_one(
    stack: Stack, page: Page, how: str
) -> None:
    open_ready(page, stack.shop + PRODUCT)
    [name] = page.evaluate(SAVED)
    page.evaluate(DAMAGE, [name, how])

    open_ready(page, stack.shop + "/")
    assert boot_marks(page)["snapshot"] == "made"  # Python started afresh, and ran the page
    assert page.evaluate(SAVED) == [name]
    open_ready(page, stack.shop + PRODUCT)
    assert boot_marks(page)["snapshot"] == "restored"


# A worker of the test's own that opens the saved boot for reading and keeps it open, as a tab
# restoring from it at that moment does.
HOLD_OPEN = """async (name) => {
  const code = `onmessage = async (e) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("rapport-boot");
    const file = await dir.getFileHandle(e.data);
    self.held = await file.createSyncAccessHandle({ mode: "read-only" });
    postMessage("held");
  };`;
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
  window.holder = worker;
  return new Promise((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.postMessage(name);
  });
}"""


def test_a_tab_restores_while_another_tab_is_reading_the_same_saved_boot(
    stack: Stack, context: BrowserContext, page: Page
) -> None:
    open_ready(page, stack.shop + PRODUCT)
    [name] = page.evaluate(SAVED)
    assert page.evaluate(HOLD_OPEN, name) == "held"

    other = context.new_page()
    open_ready(other, stack.shop + "/")
    assert boot_marks(other)["snapshot"] == "restored"


def test_the_cache_storage_snapshot_of_earlier_builds_is_removed(stack: Stack, page: Page) -> None:
    page.goto(stack.shop + PRODUCT)
    # Where builds before the saved-boot file kept Python's memory, 11 MB per origin.
    page.evaluate(
        "async () => (await caches.open('rapport-boot'))"
        ".put('/sdk/worker.0123456789.mjs?boot', new Response(new Uint8Array(4096)))"
    )
    page.wait_for_function("() => window.rapport && window.rapport.ready", timeout=60_000)
    assert page.evaluate(SAVED)
    assert page.evaluate("() => caches.has('rapport-boot')") is False
