"""A stdlib module as Rapport's Pyodide ships it: Python's own module, run on first use.

Pyodide imports ``traceback``, ``tokenize`` and ``textwrap`` as Python starts, and none of
them is used until an error is formatted, a source tokenized or a text wrapped:

- Pyodide's C core imports ``traceback`` to format errors later, and ``_pyodide.set_excepthook``
  makes ``traceback.print_exception`` the excepthook. The real module imports ``_colorize``
  (whose themes are frozen dataclasses, each compiled as it is made), ``codeop`` and
  ``contextlib``.
- ``_pyodide._base`` and ``inspect`` import ``tokenize`` and call it from functions only
  (``build._PYODIDE_PATCHES`` keeps the boot's own ``eval_code`` from calling it). The real
  module builds its token tables and regular expressions as it is imported.
- ``_pyodide._base`` and ``_pyodide.docstring`` import ``textwrap.dedent`` (the same edit keeps
  the boot's ``eval_code`` from calling it); the real module compiles ``TextWrapper``'s regular
  expressions, with ``re``'s parser written in Python.

Together ≈ 45–70 ms of every first page's start under Node (bench/README.md, 2026-12-05). So
``import traceback`` finds this module, and Python's own ``traceback`` ships beside it as
``_traceback_impl`` (``build._DEFERRED``). The first read of any other name runs the real
module's code *in this module's namespace*: whoever already holds this module (the C core,
``inspect``, ``sys.excepthook``) sees the real functions from then on, and the module's name,
its functions' globals and ``traceback.X is traceback.X`` are as before.

Runs inside Pyodide (Python 3.14) at its boot: it imports only what that boot has imported, and
no ``from __future__`` import (it would add a name to the real module's namespace).
"""

import importlib.util

# No ``__all__``: ``from traceback import *`` reads the real module's, through __getattr__.
_IMPL = f"_{__name__}_impl"
#: Names Pyodide binds as Python starts, before any error: called, they run the real module and
#: then its function.
_BOUND_AT_BOOT = {"traceback": ("print_exception",), "textwrap": ("dedent",)}


def _run_real_module() -> None:
    """Fill this module's namespace with the real module's, once."""
    namespace = globals()
    getattr_ = namespace.pop("__getattr__", None)
    if getattr_ is None:
        return  # it ran already: ``sys.excepthook`` still holds a stand-in of _BOUND_AT_BOOT
    try:
        spec = importlib.util.find_spec(_IMPL)
        if spec is None or spec.loader is None:  # the build ships it: see build._DEFERRED
            raise ImportError(f"{_IMPL} is missing: the bundle's stdlib is incomplete", name=_IMPL)
        exec(spec.loader.get_code(_IMPL), namespace)  # type: ignore[attr-defined]
    except BaseException:
        namespace["__getattr__"] = getattr_  # the next use tries again, and says why again
        raise


def _bound_at_boot(name: str) -> object:
    def call(*args: object, **kwargs: object) -> object:
        _run_real_module()
        return globals()[name](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


globals().update({name: _bound_at_boot(name) for name in _BOUND_AT_BOOT.get(__name__, ())})


def __getattr__(name: str) -> object:
    """Any other name: the real module's, after running it."""
    if name == "__path__":  # ``from textwrap import dedent`` asks: none of them is a package
        raise AttributeError(name)
    _run_real_module()
    try:
        return globals()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
