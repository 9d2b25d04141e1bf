"""``bench.pyodide_floor`` serves Pyodide as the Rapport server serves its bundle (brotli, with
the types ``compileStreaming`` needs) and reads a first visit's marks in a quiet browser. Output
only: the timings themselves are the bench's."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import brotli
import pytest

from bench.pyodide_floor import RAPPORT_INIT, floor_origin, one_page, trimmed_files
from rapport.demo_site.stack import running_stack


def _raw(url: str) -> tuple[dict[str, str], bytes]:
    """The reply's headers and its body as sent (urllib decodes no content encoding)."""
    with urllib.request.urlopen(url) as reply:
        return dict(reply.headers), reply.read()


def test_the_shipped_wasm_is_served_brotli_encoded_as_application_wasm() -> None:
    files, manifest = trimmed_files()
    name = f"{manifest['entry']['pyodide_dir']}/pyodide.asm.wasm"
    with floor_origin("http://127.0.0.1:9", "pk_unused") as origin:
        headers, body = _raw(f"{origin}/trimmed/{name}")
    assert headers["Content-Type"] == "application/wasm"
    assert headers["Content-Encoding"] == "br"
    assert brotli.decompress(body)[:4] == b"\0asm"
    assert body == files[name].read_bytes()


def test_a_path_outside_the_two_pyodides_is_a_404() -> None:
    with (
        floor_origin("http://127.0.0.1:9", "pk_unused") as origin,
        pytest.raises(urllib.error.HTTPError) as refused,
    ):
        _raw(f"{origin}/trimmed/../manifest.json")
    assert refused.value.code == 404


@pytest.mark.slow
def test_the_trimmed_pyodide_boots_on_a_first_visit_and_its_marks_are_read(
    tmp_path: Path,
) -> None:
    with floor_origin("http://127.0.0.1:9", "pk_unused") as origin:
        marks = one_page(f"{origin}/floor.html?arm=trimmed", None, tmp_path)
    assert marks["ok"] is True
    assert 0 <= marks["worker"] < marks["python"]
    assert marks["boot"] == marks["python"] - marks["worker"]


@pytest.mark.slow
def test_the_rapport_arm_reads_when_the_loader_made_its_worker_and_when_it_was_ready(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path) as stack, floor_origin(stack.api, stack.site_key) as origin:
        marks = one_page(f"{origin}/rapport.html", RAPPORT_INIT, tmp_path)
    assert marks["ok"] is True
    # The loader creates its worker only once the page has loaded (and is idle).
    assert marks["load"] <= marks["worker"] < marks["python"]
