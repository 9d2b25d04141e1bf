"""The whole suite imports Rapport as it is installed: ``rapport.server``, ``rapport.models`` …

From the repository root the folders themselves (``server/``, ``models/`` …) are importable
too, so a forgotten ``import server.x`` would pass here and fail in a site owner's install
(and load a second copy of the module). This finder refuses them, naming the right import.
``client_py`` stays importable on its own: it is also the top-level package of the browser's
wheel, and the Pyodide runner imports it so.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_INSTALLED_ONLY = ("server", "models", "demo_site", "wasm_build")


class _OnlyAsRapport(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        top = fullname.partition(".")[0]
        if path is None and top in _INSTALLED_ONLY:
            raise ImportError(
                f"import rapport.{fullname}, not {fullname} (see rapport/__init__.py)"
            )
        return None


sys.meta_path.insert(0, _OnlyAsRapport())
