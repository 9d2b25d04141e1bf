"""Precompile Python to .pyc and trim the stdlib — run *inside* Pyodide by the build.

No host CPython 3.14 exists here, and .pyc files are only valid for the interpreter that wrote
them, so the build runs this module in Pyodide under Node. Measured on these machines: Python
was ready in the worker after ~2.4 s with the shipped .py stdlib and ~0.9 s with a .pyc one.
Uses only the stdlib; must not import anything from the project.
"""

from __future__ import annotations
import __future__

import importlib.util
import io
import marshal
import sys
import types
import zipfile
from collections.abc import Iterable

__all__ = ["compile_archive", "imported_members", "record_inits_module"]

_STDLIB_PREFIX = "/lib/python314.zip/"


def _pyc(source: bytes, filename: str) -> bytes:
    """A sourceless .pyc: header (magic, flags 0, mtime 0, size) + marshalled code.

    ``optimize=2`` drops docstrings and asserts: smaller downloads, and nothing on the worker's
    path reads ``__doc__``. The location table is cut to one line per code object
    (:func:`_first_line_only`).
    """
    code = _first_line_only(compile(source, filename, "exec", dont_inherit=True, optimize=2))
    header = (
        importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + b"\0\0\0\0" + len(source).to_bytes(4, "little")
    )
    return header + marshal.dumps(code)


def _first_line_only(code: types.CodeType) -> types.CodeType:
    """``code`` whose every instruction maps to its ``def`` line, with no columns.

    Since Python 3.11 each instruction carries its line and columns (for the carets of a
    traceback); measured on the trimmed stdlib that table was 290 KB of its 768 KB brotli. No
    source ships to read those lines anyway, and tracebacks keep working: a frame reports the
    line of its function's ``def`` (never None, which ``warnings`` and ``linecache`` expect).
    The table format is CPython's ``Objects/locations.md``: entries of up to 8 code units, here
    all "no columns" (code 13) with a line delta of 0.
    """
    units = len(code.co_code) // 2
    table = bytearray()
    while units > 0:
        step = min(units, 8)
        table += bytes((0x80 | 13 << 3 | (step - 1), 0))
        units -= step
    consts = tuple(
        _first_line_only(c) if isinstance(c, types.CodeType) else c for c in code.co_consts
    )
    return code.replace(co_linetable=bytes(table), co_consts=consts)


def imported_members(modules: Iterable[str], left_out: Iterable[str] = ()) -> set[str]:
    """Zip members of the stdlib behind ``modules`` (the names the traced run had imported,
    taken before this module's own imports), but none of the ``left_out`` modules nor their
    submodules."""
    members = set()
    dropped = tuple(left_out)
    for name in sorted(modules):
        module = sys.modules.get(name)
        if any(name == out or name.startswith(out + ".") for out in dropped):
            continue
        spec = getattr(module, "__spec__", None)
        origin = getattr(spec, "origin", None) or ""
        if origin.startswith(_STDLIB_PREFIX):
            members.add(origin[len(_STDLIB_PREFIX) :])
    return members


def compile_archive(
    src: str,
    dst: str,
    *,
    keep: set[str] | None = None,
    prefix: str = _STDLIB_PREFIX,
    extra: dict[str, str] | None = None,
) -> dict[str, int]:
    """Copy a zip (stdlib or wheel), replacing each kept .py by its .pyc; drop the rest of the .py.

    Non-Python members (wheel metadata) are kept as they are, except RECORD, which would list
    files that no longer exist. ``extra`` adds modules (member name → source), compiled alike.
    """
    out = io.BytesIO()
    kept = dropped = 0
    added = {name: text.encode() for name, text in (extra or {}).items()}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        taken = set(zin.namelist()) & added.keys()
        if taken:
            raise ValueError(f"the archive already has {sorted(taken)}")
        members = [(info.filename, info) for info in zin.infolist()]
        members += [(name, None) for name in added]
        for name, info in sorted(members, key=lambda member: member[0]):
            if info is not None and info.is_dir():
                continue
            if name.endswith(".py"):
                if keep is not None and name not in keep:
                    dropped += 1
                    continue
                source = zin.read(name) if info is not None else added[name]
                data = _pyc(source, prefix + name)
                zout.writestr(_stable(name[:-3] + ".pyc"), data)
                kept += 1
            elif name.endswith(".dist-info/RECORD"):
                zout.writestr(_stable(name), "")
            elif keep is None:
                zout.writestr(_stable(name), zin.read(name))
    with open(dst, "wb") as fh:
        fh.write(out.getvalue())
    return {"compiled": kept, "dropped": dropped, "bytes": len(out.getvalue())}


def record_inits_module(compiled: Iterable[tuple[str, str]]) -> str:
    """The source of ``client_py/_record_inits.py``: each record ``__init__`` the client's flow
    compiled (``client_py.records.COMPILED``: key and source), compiled here ahead, by key.

    Each is compiled as ``records._init`` compiles it at run time (``exec`` of the source from
    a module with ``from __future__ import annotations``, file name ``<string>``), its line
    table then cut like every shipped .pyc's (:func:`_first_line_only`). The code objects
    travel marshalled inside a bytes constant: the .pyc holds the bytes, and one
    ``marshal.loads`` makes the table.
    """
    sources: dict[str, str] = {}
    for key, source in compiled:
        if sources.setdefault(key, source) != source:
            raise ValueError(f"two record __init__ sources share the key {key!r}")
    table = {}
    for key, source in sorted(sources.items()):
        module = compile(
            source,
            "<string>",
            "exec",
            flags=__future__.annotations.compiler_flag,
            dont_inherit=True,
        )
        (code,) = [c for c in module.co_consts if isinstance(c, types.CodeType)]
        table[key] = _first_line_only(code)
    return (
        '"""Made by the build (wasm_build/pyodide_compile.py): record __init__ code by key."""\n'
        "import marshal\n\n"
        f"INITS = marshal.loads({marshal.dumps(table)!r})\n"
    )


def _stable(name: str) -> zipfile.ZipInfo:
    """Fixed timestamps so the same inputs give byte-identical archives (and the same hash)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info
