"""wasm_dce: Pyodide's wasm keeps the exports JavaScript calls, and loses the rest."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rapport.wasm_build import wasm_dce, wasm_sections
from rapport.wasm_build.build import METADCE


def _vec(items: list[bytes]) -> bytes:
    return bytes([len(items)]) + b"".join(items)


def _section(code: int, body: bytes) -> bytes:
    return bytes([code, len(body)]) + body


def _name(text: str) -> bytes:
    return bytes([len(text)]) + text.encode()


#: (memory (export "memory") 1) (data (i32.const 0) "…_viaData…") and four functions:
#: ``called``, ``uncalled`` (which calls ``helper``), ``helper`` (not exported), ``viaData``.
_DATA = b"\0JS kept in data: _viaData();\0"
MODULE = (
    b"\0asm\x01\0\0\0"
    + _section(1, _vec([bytes([0x60, 0, 0])]))  # one type: () -> ()
    + _section(3, _vec([b"\0", b"\0", b"\0", b"\0"]))  # four functions of that type
    + _section(5, _vec([b"\0\x01"]))  # a memory of one page
    + _section(
        7,
        _vec(
            [
                _name("called") + b"\0\x00",
                _name("uncalled") + b"\0\x01",
                _name("viaData") + b"\0\x03",
                _name("memory") + b"\x02\x00",
            ]
        ),
    )
    + _section(
        10,
        _vec(
            [
                bytes([2, 0, 0x0B]),  # called: no locals, end
                bytes([4, 0, 0x10, 2, 0x0B]),  # uncalled: call helper (function 2)
                bytes([9, 0]) + b"\x01" * 7 + b"\x0b",  # helper: seven nops
                bytes([2, 0, 0x0B]),  # viaData
            ]
        ),
    )
    + _section(11, _vec([b"\0\x41\x00\x0b" + bytes([len(_DATA)]) + _DATA]))  # at offset 0
)

GLUE = (
    "var wasmExports;"
    'function assignWasmExports(wasmExports){_called=Module["_called"]=wasmExports["called"];'
    '_uncalled=Module["_uncalled"]=wasmExports["uncalled"];'
    '_viaData=Module["_viaData"]=wasmExports["viaData"]}'
    f"var {','.join(['_called', '_uncalled', '_viaData'] + [f'_pad{i}' for i in range(120)])};"
    "function run(){return _called()}"
)


def _accepted_by_v8(module: bytes) -> str:
    done = subprocess.run(
        ["node", "-e", f"new WebAssembly.Module(Buffer.from('{module.hex()}', 'hex'))"],
        capture_output=True,
        text=True,
    )
    return done.stderr


def test_the_test_module_is_one_v8_accepts() -> None:
    assert _accepted_by_v8(MODULE) == ""
    assert wasm_sections.export_kinds(MODULE) == [
        ("called", 0),
        ("uncalled", 0),
        ("viaData", 0),
        ("memory", 2),
    ]


def test_an_export_the_glue_names_only_in_its_export_lists_is_not_called() -> None:
    assert wasm_dce.called_exports(MODULE, GLUE, []) == {"called", "viaData"}


def test_an_export_the_worker_or_pyodide_mjs_names_is_called() -> None:
    worker = "py._module._uncalled(0);"
    assert wasm_dce.called_exports(MODULE, GLUE, [worker]) == {"called", "uncalled", "viaData"}


def test_a_glue_without_its_export_lists_is_refused_rather_than_read_as_calling_nothing() -> None:
    with pytest.raises(wasm_dce.DceError, match="assignWasmExports"):
        wasm_dce.called_exports(MODULE, "function run(){return _called()}", [])
    with pytest.raises(wasm_dce.DceError, match="var"):
        wasm_dce.called_exports(MODULE, GLUE.replace("var _called,", "let _called,"), [])


def test_a_glue_whose_export_list_does_more_than_assign_is_refused() -> None:
    # A call hidden among the assignments would be skipped with them.
    calling = GLUE.replace('wasmExports["uncalled"];', 'wasmExports["uncalled"];_uncalled();')
    with pytest.raises(wasm_dce.DceError, match="not an export's assignment"):
        wasm_dce.called_exports(MODULE, calling, [])


def test_dropping_removes_the_uncalled_exports_and_the_code_only_they_reached(
    tmp_path: Path,
) -> None:
    source, out = tmp_path / "in.wasm", tmp_path / "out.wasm"
    source.write_bytes(MODULE)
    dropped = wasm_dce.drop_uncalled_exports(source, out, {"called", "viaData"}, METADCE)
    cut = out.read_bytes()
    assert dropped == ["uncalled"]
    assert wasm_sections.exports(cut) == {"called", "viaData", "memory"}
    assert b"\x01" * 7 not in wasm_sections.section(cut, 10)  # helper's body is gone
    assert _DATA in wasm_sections.section(cut, 11)
    assert _accepted_by_v8(cut) == ""


def test_dropping_refuses_to_keep_an_export_the_module_does_not_have(tmp_path: Path) -> None:
    source = tmp_path / "in.wasm"
    source.write_bytes(MODULE)
    with pytest.raises(wasm_dce.DceError, match="does not export"):
        wasm_dce.drop_uncalled_exports(source, tmp_path / "out.wasm", {"missing"}, METADCE)
