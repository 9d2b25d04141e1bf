"""wasm_sections: the names a WebAssembly module imports and exports, read from its binary."""

from __future__ import annotations

import subprocess

import pytest

from rapport.wasm_build import wasm_sections

# (module (type (func)) (import "env" "f" (func)) (import "GOT.mem" "g" (global (mut i32)))
#   (import "env" "memory" (memory 1 2)) (func (export "h")))
_IMPORTS = [
    b"\x03env\x01f\x00\x00",
    b"\x07GOT.mem\x01g\x03\x7f\x01",
    b"\x03env\x06memory\x02\x01\x01\x02",
]
_IMPORT_BODY = bytes([len(_IMPORTS)]) + b"".join(_IMPORTS)
MODULE = (
    b"\0asm\x01\0\0\0"
    + bytes([1, 4, 1, 0x60, 0, 0])  # type section: one () -> ()
    + bytes([2, len(_IMPORT_BODY)])
    + _IMPORT_BODY
    + bytes([3, 2, 1, 0])  # function section: one function of type 0
    + bytes([7, 5, 1, 1])
    + b"h"
    + bytes([0, 1])  # export section: "h", function 1 (after the imported one)
    + bytes([10, 4, 1, 2, 0, 0x0B])  # code section: an empty body
)


def test_the_test_module_is_one_v8_accepts() -> None:
    done = subprocess.run(
        ["node", "-e", f"new WebAssembly.Module(Buffer.from('{MODULE.hex()}', 'hex'))"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_imports_are_read_in_order_with_their_module_and_kind() -> None:
    assert wasm_sections.imports(MODULE) == [
        wasm_sections.Imported("env", "f", 0),
        wasm_sections.Imported("GOT.mem", "g", 3),
        wasm_sections.Imported("env", "memory", 2),
    ]


def test_exports_are_read_by_name() -> None:
    assert wasm_sections.exports(MODULE) == {"h"}


def test_a_module_without_imports_or_exports_has_none() -> None:
    empty = b"\0asm\x01\0\0\0"
    assert wasm_sections.imports(empty) == [] and wasm_sections.exports(empty) == set()


def test_what_is_not_a_wasm_module_is_refused() -> None:
    with pytest.raises(ValueError, match="not a WebAssembly module"):
        wasm_sections.imports(b"PK\x03\x04 a zip file")
