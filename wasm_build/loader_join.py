"""The loader's modules (``wasm_build/src/loader/*.js``) joined into the one classic script the
site embeds.

The loader is written as ES modules, one concern each (capture, boot, hints, rights, camera…),
so that ESLint and ``tsc --checkJs`` read every import, and is shipped as one ``<script>``: no
module loading at run time (a site's tag may not be ``type="module"``), no global leaked into the
host page, nothing a strict CSP could refuse. Joining costs no byte: the modules are written one
after the other inside one closure, in the order ES modules would run them (depth-first from
``main.js``, each module after what it imports), with their ``import`` lines dropped and their
``export`` keywords removed, since in one closure a name is the same binding everywhere.
terser then sees exactly what a hand-written closure would give it.

What this relies on is checked here, so a mistake fails the build instead of shipping: every
module is reached from ``main.js`` (a module nobody imports would silently not ship), imports
are named and unaliased (``import { a, b } from "./x.js"``), every imported name is exported by
its module, and no two modules declare the same top-level name (one closure, one namespace).
Top-level declarations are ``const``/``let``, one per statement (``no-var``, ``one-var`` in
``wasm_build/eslint.config.mjs``), and written as ``var`` in the joined script, as the
hand-written loader had them (terser keeps ``const``: 11 B brotli more). The joined order is the
modules' own run order, so no binding is read before it is set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

__all__ = ["ENTRY", "LOADER_DIR", "LoaderJoinError", "join_loader", "loader_modules"]

LOADER_DIR: Final = Path(__file__).resolve().parent / "src" / "loader"
#: The module that runs: the others only declare what it and each other use.
ENTRY: Final = "main.js"

_IMPORT: Final = re.compile(
    r'^import\s*\{(?P<names>[^}]*)\}\s*from\s*"\./(?P<module>[\w-]+\.js)";[ \t]*\n', re.MULTILINE
)
#: Any other static import (default, namespace, bare specifier, side effect only).
_OTHER_IMPORT: Final = re.compile(r"^import\b(?!\s*\()", re.MULTILINE)
_EXPORT: Final = re.compile(r"^export (?=const |let )", re.MULTILINE)
_OTHER_EXPORT: Final = re.compile(r"^export\b(?! (?:const|let) )", re.MULTILINE)
_TOP_LEVEL: Final = re.compile(
    r"^(?:export )?(?:const|let|var|function\*?|class) +(\w+)", re.MULTILINE
)
_TOP_LEVEL_BINDING: Final = re.compile(r"^(?:const|let) ", re.MULTILINE)


class LoaderJoinError(ValueError):
    """The loader's modules cannot be joined safely; the message names the module and why."""


def _imports(name: str, source: str) -> list[tuple[str, list[str]]]:
    """(module, names) for each import of ``source``; anything but a named import is refused."""
    found = []
    for match in _IMPORT.finditer(source):
        names = [part.strip() for part in match["names"].split(",") if part.strip()]
        aliased = [part for part in names if not re.fullmatch(r"\w+", part)]
        if aliased:
            raise LoaderJoinError(f"{name}: import {aliased[0]!r}: aliases are not joined")
        found.append((match["module"], names))
    rest = _IMPORT.sub("", source)
    if _OTHER_IMPORT.search(rest):
        raise LoaderJoinError(f'{name}: only `import {{ a, b }} from "./x.js";` is joined')
    return found


def _declared(name: str, source: str) -> tuple[set[str], set[str]]:
    """(every top-level name, the exported ones) of one module."""
    if _OTHER_EXPORT.search(source):
        raise LoaderJoinError(f"{name}: only `export const` / `export let` are joined")
    names, exported = set(), set()
    for match in _TOP_LEVEL.finditer(source):
        names.add(match[1])
        if match[0].startswith("export "):
            exported.add(match[1])
    return names, exported


def loader_modules(directory: Path = LOADER_DIR) -> list[str]:
    """The module names in the order the joined script holds them (ES module evaluation order)."""
    sources = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.js")}
    if ENTRY not in sources:
        raise LoaderJoinError(f"{directory}: no {ENTRY}")
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return
        visiting.add(name)
        for module, _ in _imports(name, sources[name]):
            if module not in sources:
                raise LoaderJoinError(f"{name} imports {module}, which does not exist")
            visit(module)
        order.append(name)

    visit(ENTRY)
    left_out = sorted(set(sources) - set(order))
    if left_out:
        raise LoaderJoinError(
            f"{', '.join(left_out)}: not imported from {ENTRY}, so it would not ship"
        )
    return order


def join_loader(directory: Path = LOADER_DIR) -> str:
    """The loader as one classic script: every module in one closure (see the module docstring)."""
    order = loader_modules(directory)
    sources = {name: (directory / name).read_text(encoding="utf-8") for name in order}
    owner: dict[str, str] = {}
    exports: dict[str, set[str]] = {}
    for name in order:
        names, exports[name] = _declared(name, sources[name])
        for declared in sorted(names):
            if declared in owner:
                raise LoaderJoinError(
                    f"{name} and {owner[declared]} both declare {declared!r}: one closure holds"
                    " every module, so top-level names must differ"
                )
            owner[declared] = name
    parts = []
    for name in order:
        for module, names in _imports(name, sources[name]):
            missing = [n for n in names if n not in exports[module]]
            if missing:
                raise LoaderJoinError(
                    f"{name} imports {missing[0]!r}, which {module} does not export"
                )
        body = _IMPORT.sub("", sources[name])
        body = _TOP_LEVEL_BINDING.sub("var ", _EXPORT.sub("", body))
        parts.append(f"// {name}\n{body.strip()}\n")
    return "(function () {\n" + "\n".join(parts) + "})();\n"
