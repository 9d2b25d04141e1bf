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
from typing import Any

__all__ = [
    "AHEAD_MISSES_IN",
    "COMPILED_AHEAD",
    "COMPILED_AHEAD_PATCHES",
    "compile_archive",
    "compiled_ahead_module",
    "imported_members",
    "record_inits_module",
]

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
    table = {
        key: _function_code(source, "exec", __future__.annotations.compiler_flag)
        for key, source in sorted(sources.items())
    }
    return (
        '"""Made by the build (wasm_build/pyodide_compile.py): record __init__ code by key."""\n'
        "import marshal\n\n"
        f"INITS = marshal.loads({marshal.dumps(table)!r})\n"
    )


#: The stdlib module that holds what Python would compile as it starts (built below).
COMPILED_AHEAD = "_rapport_compiled_ahead.py"
#: The edited modules that list what they made in ``_AHEAD_MISSES``, in the order of
#: :func:`compiled_ahead_module`'s parameters: the compile step passes their lists to it after
#: the first boot, and fails if any is non-empty after the second.
AHEAD_MISSES_IN = ("collections", "_pyodide.docstring", "re._compiler")
#: Edits of Pyodide's stdlib (member → (anchor, replacement)s; build._PYODIDE_PATCHES makes
#: them). Python makes these as it starts and imports the agent: eleven ``namedtuple``
#: ``__new__`` lambdas (``functools``, ``dis``, ``inspect``), for the 42 methods of Pyodide's
#: proxies a signature through ``inspect`` (``_pyodide.docstring``, asked by the C core), and
#: 13 regular expressions through ``re``'s parser and compiler, which are Python. Each now
#: comes from :data:`COMPILED_AHEAD`'s tables when they hold it, and is made as before, and
#: listed in ``_AHEAD_MISSES``, when they do not. The compile step lists what the flow made,
#: builds the tables (:func:`compiled_ahead_module`) and fails if its second boot still made
#: any. ``eval_code``'s template is parsed on first use, not as ``_pyodide._base`` is imported.
COMPILED_AHEAD_PATCHES = {
    "collections/__init__.py": (
        (
            "def namedtuple(typename, field_names, *, rename=False, defaults=None, module=None):\n",
            "_AHEAD_MISSES = []  # __new__ sources compiled here (Rapport's build)\n\n\n"
            "def _compiled_ahead(source, namespace):\n"
            "    try:\n"
            "        from _rapport_compiled_ahead import LAMBDAS\n"
            "    except ImportError:\n"
            "        LAMBDAS = {}\n"
            "    code = LAMBDAS.get(source)\n"
            "    if code is None:\n"
            "        _AHEAD_MISSES.append(source)\n"
            "        return eval(source, namespace)\n"
            "    return type(_compiled_ahead)(code, namespace)\n\n\n"
            "def namedtuple(typename, field_names, *, rename=False, defaults=None, module=None):\n",
        ),
        (
            "    __new__ = eval(code, namespace)\n",
            "    __new__ = _compiled_ahead(code, namespace)  # as eval(code, namespace)\n",
        ),
    ),
    # Parsed on first use, not as the module is imported: nothing else parses Python source
    # as Python starts.
    "_pyodide/_base.py": (
        (
            '_raise_template_ast = ast.parse("raise ___EvalCodeResultException[0](x)").body[0]\n',
            "_raise_template_ast = None  # parsed by _raise_template() (Rapport's build)\n\n\n"
            "def _raise_template():\n"
            "    global _raise_template_ast\n"
            "    if _raise_template_ast is None:\n"
            '        _raise_template_ast = ast.parse("raise ___EvalCodeResultException[0](x)")'
            ".body[0]\n"
            "    return _raise_template_ast\n",
        ),
        (
            "    raise_expr = deepcopy(_raise_template_ast)\n",
            "    raise_expr = deepcopy(_raise_template())\n",
        ),
    ),
    "re/_compiler.py": (
        (
            "def compile(p, flags=0):\n    # internal: convert pattern list to internal format\n",
            "_AHEAD_MISSES = []  # ((pattern, flags), _sre.compile's arguments) (Rapport's build)\n"
            "\n\n"
            "def _compiled_ahead(p, flags):\n"
            "    if not isstring(p) or flags & SRE_FLAG_DEBUG:\n"
            "        return None\n"
            "    try:\n"
            "        from _rapport_compiled_ahead import PATTERNS\n"
            "    except ImportError:\n"
            "        return None\n"
            "    return PATTERNS.get((p, flags))\n"
            "\n\n"
            "def compile(p, flags=0):\n"
            "    # internal: convert pattern list to internal format\n"
            "    ahead = _compiled_ahead(p, flags)\n"
            "    if ahead is not None:\n"
            "        return _sre.compile(p, *ahead)\n",
        ),
        (
            "    return _sre.compile(\n"
            "        pattern, flags | p.state.flags, code,\n"
            "        p.state.groups-1,\n"
            "        groupindex, tuple(indexgroup)\n"
            "        )\n",
            "    args = (\n"
            "        flags | p.state.flags, code, p.state.groups-1, groupindex, tuple(indexgroup)\n"
            "    )\n"
            "    if pattern is not None and not flags & SRE_FLAG_DEBUG:\n"
            "        _AHEAD_MISSES.append(((pattern, flags), args))\n"
            "    return _sre.compile(pattern, *args)\n",
        ),
    ),
    "_pyodide/docstring.py": (
        (
            "def get_cmeth_docstring(func):\n",
            "_AHEAD_MISSES = []  # (key, signature) computed here (Rapport's build)\n\n\n"
            "def get_cmeth_docstring(func):\n",
        ),
        (
            "    from inspect import _empty, signature\n",
            '    key = f"{func.__module__}.{func.__qualname__}"\n'
            "    try:\n"
            "        from _rapport_compiled_ahead import SIGNATURES\n"
            "    except ImportError:\n"
            "        SIGNATURES = {}\n"
            "    head = SIGNATURES.get(key)\n"
            "    if head is not None:\n"
            '        doc = dedent_docstring(func.__doc__) if func.__doc__ is not None else ""\n'
            '        return head + "\\n--\\n\\n" + doc\n'
            "    from inspect import _empty, signature\n",
        ),
        (
            '    return func.__name__ + str(sig) + "\\n--\\n\\n" + docstring\n',
            "    _AHEAD_MISSES.append((key, func.__name__ + str(sig)))\n"
            '    return func.__name__ + str(sig) + "\\n--\\n\\n" + docstring\n',
        ),
    ),
}


def compiled_ahead_module(
    lambdas: Iterable[str],
    signatures: Iterable[tuple[str, str]],
    patterns: Iterable[tuple[tuple[str | bytes, int], tuple[Any, Any, Any, Any, Any]]] = (),
) -> str:
    """The source of :data:`COMPILED_AHEAD`: ``LAMBDAS`` (a ``namedtuple``'s ``__new__``
    source → its code, compiled as ``collections`` evaluates it: mode ``eval``, file name
    ``<string>``, no future flags; line table cut like every shipped .pyc's), ``SIGNATURES``
    (``module.qualname`` → name and signature, as ``_pyodide.docstring`` computes them) and
    ``PATTERNS`` (a regular expression and its flags → the arguments ``re._compiler`` passes
    to ``_sre.compile``: its parser and compiler are Python). All made from
    ``_AHEAD_MISSES`` after the flow ran."""
    table = {source: _function_code(source, "eval") for source in sorted(set(lambdas))}
    heads: dict[str, str] = {}
    for key, head in signatures:
        if heads.setdefault(key, head) != head:
            raise ValueError(f"{key} has two signatures: {heads[key]!r}, {head!r}")
        if " at 0x" in head:
            raise ValueError(f"{key}'s signature names an address: {head!r}")
    compiled: dict[tuple[str | bytes, int], tuple[Any, ...]] = {}
    for pattern_key, (flags, code, groups, groupindex, indexgroup) in patterns:
        # The opcodes are int subclasses (re._constants), which marshal does not write.
        args = (int(flags), [int(c) for c in code], int(groups), dict(groupindex), indexgroup)
        if compiled.setdefault(pattern_key, args) != args:
            raise ValueError(f"{pattern_key!r} compiled two ways")
    return (
        '"""Made by Rapport\'s build (wasm_build/pyodide_compile.py): what Python compiled as it'
        ' started."""\n'
        "import marshal\n\n"
        f"LAMBDAS = marshal.loads({marshal.dumps(table)!r})\n"
        f"SIGNATURES = {dict(sorted(heads.items()))!r}\n"
        f"PATTERNS = marshal.loads({marshal.dumps(compiled)!r})\n"
    )


def _function_code(source: str, mode: str, flags: int = 0) -> types.CodeType:
    """The code of the one function ``source`` defines (a ``def``, a ``lambda``), compiled as
    ``exec``/``eval`` of it compiles it (file name ``<string>``, only the given future
    ``flags``), its line table cut like every shipped .pyc's (:func:`_first_line_only`)."""
    outer = compile(source, "<string>", mode, flags=flags, dont_inherit=True)
    (code,) = [c for c in outer.co_consts if isinstance(c, types.CodeType)]
    return _first_line_only(code)


def _stable(name: str) -> zipfile.ZipInfo:
    """Fixed timestamps so the same inputs give byte-identical archives (and the same hash)."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info
