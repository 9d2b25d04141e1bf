"""The names a WebAssembly module imports and exports, read from its binary.

The build patches Pyodide's glue where Rapport's use makes a step of it dead weight; some of
those patches are safe only while the wasm has a certain shape (``build._GLUE_MAIN_GOT``: none
of the functions it links through its global offset table is one it exports itself). Reading
the two sections takes milliseconds where compiling the 10 MB module would take seconds.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Imported", "export_kinds", "exports", "imports", "section"]

_IMPORT_SECTION = 2
_EXPORT_SECTION = 7
_LIMITS_MAX = 0x01


class Imported(NamedTuple):
    module: str
    name: str
    kind: int  # 0 function, 1 table, 2 memory, 3 global, 4 tag


class _Reader:
    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data = data
        self.at = at

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]

    def leb(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    def name(self) -> str:
        length = self.leb()
        self.at += length
        return self.data[self.at - length : self.at].decode("utf-8")

    def limits(self) -> None:
        flags = self.byte()
        self.leb()
        if flags & _LIMITS_MAX:
            self.leb()


def _section(wasm: bytes, wanted: int) -> _Reader | None:
    if wasm[:4] != b"\0asm":
        raise ValueError("not a WebAssembly module")
    reader = _Reader(wasm, 8)
    while reader.at < len(wasm):
        section, size = reader.byte(), reader.leb()
        if section == wanted:
            return _Reader(wasm[reader.at : reader.at + size])
        reader.at += size
    return None


def imports(wasm: bytes) -> list[Imported]:
    reader = _section(wasm, _IMPORT_SECTION)
    if reader is None:
        return []
    found: list[Imported] = []
    for _ in range(reader.leb()):
        module, name, kind = reader.name(), reader.name(), reader.byte()
        if kind == 0:  # function: its type index
            reader.leb()
        elif kind == 1:  # table: element type, limits
            reader.byte()
            reader.limits()
        elif kind == 2:  # memory: limits
            reader.limits()
        elif kind == 3:  # global: value type, mutability
            reader.byte()
            reader.byte()
        elif kind == 4:  # tag: attribute, type index
            reader.byte()
            reader.leb()
        else:
            raise ValueError(f"unknown import kind {kind} ({module}.{name})")
        found.append(Imported(module, name, kind))
    return found


def export_kinds(wasm: bytes) -> list[tuple[str, int]]:
    """Each export's name and kind (0 function, 1 table, 2 memory, 3 global, 4 tag)."""
    reader = _section(wasm, _EXPORT_SECTION)
    if reader is None:
        return []
    found = []
    for _ in range(reader.leb()):
        name, kind = reader.name(), reader.byte()
        reader.leb()
        found.append((name, kind))
    return found


def exports(wasm: bytes) -> set[str]:
    return {name for name, _ in export_kinds(wasm)}


def section(wasm: bytes, wanted: int) -> bytes:
    """The raw bytes of section ``wanted`` (empty when the module has none)."""
    reader = _section(wasm, wanted)
    return b"" if reader is None else reader.data
