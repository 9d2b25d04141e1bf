"""Issue 19: the worker asks for Pyodide's WebAssembly and stdlib itself, beside the import of
Pyodide's JS, and compiles the wasm meanwhile; Pyodide then gets those very downloads and that
module instead of starting its own once its JS runs. Each file is still requested once; a page
restored from the saved boot requests no wasm at all (it was saved with Python's memory).

These tests read which path the worker took from its start-up marks (``self.rapportBoot``,
never sent) and count the page's requests; they judge outcomes, never timings.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page

from rapport.demo_site.stack import Stack
from tests.e2e.test_warm_start import SAVED, boot_marks, open_ready

pytestmark = pytest.mark.e2e

PRODUCT = "/product/aria-headphones.html"
BOOT_FILES = {
    "wasm": r"/pyodide\.asm\.wasm$",
    "stdlib": r"/python_stdlib\.[0-9a-f]+\.zip$",
    "glue": r"/pyodide\.asm\.mjs$",
}


def requested(urls: list[str]) -> dict[str, int]:
    return {name: sum(bool(re.search(rx, u)) for u in urls) for name, rx in BOOT_FILES.items()}


def test_a_cold_page_requests_each_boot_file_once_and_a_restored_one_no_wasm(
    stack: Stack, context: BrowserContext, page: Page
) -> None:
    urls: list[str] = []
    context.on("request", lambda r: urls.append(r.url))
    open_ready(page, stack.shop + PRODUCT)
    assert requested(urls) == {"wasm": 1, "stdlib": 1, "glue": 1}
    assert page.evaluate(SAVED)
    urls.clear()
    open_ready(page, stack.shop + "/")  # from the HTTP cache, Python from the snapshot
    assert boot_marks(page)["snapshot"] == "restored"
    # The wasm came with the snapshot: its 9.6 MB are neither requested nor decompressed again.
    assert requested(urls) == {"wasm": 0, "stdlib": 1, "glue": 1}


def test_pyodide_instantiates_the_module_compiled_beside_its_js_on_cold_and_warm_pages(
    stack: Stack, page: Page
) -> None:
    open_ready(page, stack.shop + PRODUCT)
    assert boot_marks(page)["wasm"] == "early"
    assert page.evaluate(SAVED)  # the first page's snapshot is saved (after its ready)
    open_ready(page, stack.shop + "/")  # Python restored from the first page's snapshot
    marks = boot_marks(page)
    assert marks["snapshot"] == "restored" and marks["wasm"] == "early"
