"""What each file of the bundle may weigh, and what a new visitor downloads before Rapport runs.

Every file the build writes has a role (the loader, the worker, Pyodide's core files, the stdlib,
the client wheel, the add-ons, the camera's files) and each role a brotli budget: the build fails
when a file outgrows it, so a dependency bump or a careless import shows up as a failed build,
not as a slower first visit weeks later. The *cold* set is what an ordinary page downloads on a
visitor's first visit (no camera, no debug panel, no rights call); its sum has a budget of its
own (issue 19: at most 3.4 MB brotli).

The limits sit a little above today's sizes: room for small changes, not for a new dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["COLD_BUDGET_BR", "COLD_ROLES", "FILE_BUDGETS_BR", "check", "cold_total"]

#: Brotli bytes per role. The loader's 3 KB is the project's rule (it runs on the host page's
#: main thread); the others are today's sizes plus a few per cent.
FILE_BUDGETS_BR: Final[Mapping[str, int]] = {
    "loader": 3 * 1024,
    "worker": 3_200,  # 2 KB before the warm-start snapshot (+270 B), early compile (+135 B), the
    # boot's garbage freed at once and the snapshot kept sparse (+367 B), the saved boot read in
    # place from OPFS with its wasm (+291 B)
    "pyodide.mjs": 6_500,
    "pyodide.asm.mjs": 154 * 1024,
    "pyodide.asm.wasm": 2_560_000,  # 2.73 MB before the uncalled exports were dropped (12-04)
    # 470 KiB before Pyodide's package loader was swapped out, 391 before asyncio was (12-04)
    "stdlib": 250 * 1024,
    # 46 KiB before the client's records (12-05: +3.1 KB brotli, ≈ 45 ms off a first page);
    # 49 before their __init__ code was compiled by the build (+3.1 KB brotli, 48,611 → 51,742 B)
    "wheel": 52 * 1024,
    "tone_model": 46 * 1024,
    "debug": 2 * 1024,
    "rights": 1024,
    "prompt": 4 * 1024,
    "face": 3 * 1024,
    "ort": 16 * 1024,
    "ort_glue": 8 * 1024,
    "ort_wasm": 2_000_000,
    "detector": 190 * 1024,
    "expression": 280 * 1024,
}
#: Downloaded by every visitor's first page where Rapport runs.
COLD_ROLES: Final = (
    "loader",
    "worker",
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "stdlib",
    "wheel",
)
#: The cold download, brotli: today's 2.98 MB (3.14 before asyncio and Pyodide's event loop
#: left the stdlib, 3.32 before Pyodide's wasm lost the exports no JavaScript calls, 3.39
#: before Pyodide's package loader and its imports left the stdlib, 3.52 before the chat-tone
#: weights left it and the worker was minified, 3.48 before Pyodide's JS was minified and its
#: wasm got brotli settings of its own) under issue 19's 3.4 MB, which is the budget.
#: Pyodide's own share (its WebAssembly, its JS and the stdlib modules its boot imports) is
#: ≈ 2.92 MB of it.
COLD_BUDGET_BR: Final = 3_400_000


def cold_total(roles: Mapping[str, str], files: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Raw, brotli and gzip bytes of the cold set (``roles``: role → file name)."""
    names = [roles[role] for role in COLD_ROLES]
    return {k: sum(int(files[n][k]) for n in names) for k in ("bytes", "br", "gz")}


def check(roles: Mapping[str, str], files: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One sentence per budget exceeded (empty when all fit): file, size, budget, by how much."""
    problems = []
    for role, name in roles.items():
        size, limit = int(files[name]["br"]), FILE_BUDGETS_BR[role]
        if size > limit:
            problems.append(
                f"{name} ({role}) is {size:,} B brotli, {size - limit:,} B over its {limit:,} B"
                " budget (wasm_build/budget.py)"
            )
    cold = cold_total(roles, files)["br"]
    if cold > COLD_BUDGET_BR:
        problems.append(
            f"the cold download ({', '.join(COLD_ROLES)}) is {cold:,} B brotli,"
            f" {cold - COLD_BUDGET_BR:,} B over its {COLD_BUDGET_BR:,} B budget"
        )
    return problems
