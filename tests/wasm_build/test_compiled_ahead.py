"""What Python compiled as it started, compiled by the build instead (wasm_build/
pyodide_compile.py: ``COMPILED_AHEAD_PATCHES``, ``compiled_ahead_module``): a ``namedtuple``'s
``__new__`` and the signatures of Pyodide's proxy methods, each answered from the build's table
when it holds it and made as before, and listed, when it does not.

Here in CPython, on Pyodide's own modules where they run in CPython; the shipped files are
checked under Node in test_bundle.py."""

from __future__ import annotations

import sys
import types
import zipfile
from typing import Any

import pytest

from rapport.wasm_build.build import PYODIDE_DIR, _edited
from rapport.wasm_build.pyodide_compile import COMPILED_AHEAD_PATCHES, compiled_ahead_module

DOCSTRING = "_pyodide/docstring.py"


def table(
    lambdas: list[str], signatures: list[tuple[str, str]], patterns: Any = ()
) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compiled_ahead_module(lambdas, signatures, patterns), namespace)
    return namespace


def pyodides_docstring(*, patched: bool) -> dict[str, Any]:
    """Pyodide's ``_pyodide.docstring`` as published, or as the build edits it, run here."""
    with zipfile.ZipFile(PYODIDE_DIR / "python_stdlib.zip") as stdlib:
        body = stdlib.read(DOCSTRING).decode("utf-8")
    if patched:
        body = _edited(body, COMPILED_AHEAD_PATCHES[DOCSTRING], DOCSTRING)
    namespace: dict[str, Any] = {"__name__": "_pyodide.docstring"}
    exec(compile(body, "docstring.py", "exec"), namespace)
    return namespace


def sample(a: int, b: str = "x", *rest: int, c: list[int] | None = None) -> bool:
    """A function with annotations, defaults and a docstring.

    Its second paragraph is indented, as docstrings are."""
    return bool(rest)


@pytest.fixture
def no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "_rapport_compiled_ahead", None)  # import fails


def with_table(monkeypatch: pytest.MonkeyPatch, **tables: Any) -> None:
    module = types.ModuleType("_rapport_compiled_ahead")
    module.__dict__.update({"LAMBDAS": {}, "SIGNATURES": {}} | tables)
    monkeypatch.setitem(sys.modules, "_rapport_compiled_ahead", module)


@pytest.mark.usefixtures("no_table")
def test_without_a_table_the_patched_docstring_answers_as_published_and_lists_the_miss() -> None:
    published, patched = pyodides_docstring(patched=False), pyodides_docstring(patched=True)
    answer = patched["get_cmeth_docstring"](sample)
    assert answer == published["get_cmeth_docstring"](sample)
    assert answer.startswith("sample(a, b='x', *rest, c=None)\n--\n\n")
    key = f"{__name__}.sample"
    assert patched["_AHEAD_MISSES"] == [(key, "sample(a, b='x', *rest, c=None)")]


def test_with_a_table_the_patched_docstring_takes_the_signature_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published = pyodides_docstring(patched=False)["get_cmeth_docstring"](sample)
    head = published.split("\n--\n\n")[0]
    with_table(monkeypatch, SIGNATURES={f"{__name__}.sample": head})
    patched = pyodides_docstring(patched=True)
    monkeypatch.setattr("inspect.signature", None)  # not asked
    assert patched["get_cmeth_docstring"](sample) == published
    assert patched["_AHEAD_MISSES"] == []


def namedtuples_helper() -> dict[str, Any]:
    """``collections``' ``_compiled_ahead`` as the build adds it, run here."""
    ((_, added), _) = COMPILED_AHEAD_PATCHES["collections/__init__.py"]
    namespace: dict[str, Any] = {}
    exec(added.split("\n\n\ndef namedtuple(")[0], namespace)
    return namespace


SOURCE = "lambda _cls, a, b: _tuple_new(_cls, (a, b))"


def test_a_namedtuple_source_in_the_table_is_made_from_its_code_with_the_same_globals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lambdas = table([SOURCE], [])["LAMBDAS"]
    with_table(monkeypatch, LAMBDAS=lambdas)
    helper = namedtuples_helper()
    namespace = {"_tuple_new": tuple.__new__, "__builtins__": {}, "__name__": "namedtuple_P"}
    new = helper["_compiled_ahead"](SOURCE, namespace)
    evaluated = eval(SOURCE, dict(namespace))
    assert new.__code__ is lambdas[SOURCE]
    assert new.__globals__ is namespace
    assert (new.__name__, new.__module__) == (evaluated.__name__, evaluated.__module__)
    assert new(tuple, 1, 2) == evaluated(tuple, 1, 2) == (1, 2)
    assert helper["_AHEAD_MISSES"] == []


@pytest.mark.usefixtures("no_table")
def test_a_namedtuple_source_the_table_lacks_is_evaluated_and_listed() -> None:
    helper = namedtuples_helper()
    namespace = {"_tuple_new": tuple.__new__, "__builtins__": {}, "__name__": "namedtuple_P"}
    assert helper["_compiled_ahead"](SOURCE, namespace)(tuple, 3, 4) == (3, 4)
    assert helper["_AHEAD_MISSES"] == [SOURCE]


def test_the_table_compiles_each_lambda_as_eval_would_but_for_its_line_table() -> None:
    built = table([SOURCE], [])["LAMBDAS"][SOURCE]
    # As collections evaluates it: a module without future imports (this one has one).
    mine = eval(compile(SOURCE, "<string>", "eval", dont_inherit=True), {}).__code__
    assert built.replace(co_linetable=mine.co_linetable) == mine


def test_the_table_refuses_two_signatures_for_one_method_or_one_naming_an_address() -> None:
    with pytest.raises(ValueError, match="two signatures"):
        compiled_ahead_module([], [("m.f", "f(a)"), ("m.f", "f(b)")])
    with pytest.raises(ValueError, match="names an address"):
        compiled_ahead_module([], [("m.f", "f(a=<object object at 0x7f00>)")])


def test_the_table_keeps_a_patterns_compile_arguments_as_plain_ints() -> None:
    """``re``'s opcodes are an int subclass marshal cannot write: the table keeps their values."""

    class Opcode(int):
        pass

    args = (32, [Opcode(17), 4, Opcode(1)], 0, {"n": 1}, (None, "n"))
    patterns = table([], [], [(("(?P<n>a)", 0), args)])["PATTERNS"]
    assert patterns == {("(?P<n>a)", 0): (32, [17, 4, 1], 0, {"n": 1}, (None, "n"))}
    assert all(type(c) is int for c in patterns["(?P<n>a)", 0][1])
    with pytest.raises(ValueError, match="compiled two ways"):
        table([], [], [(("a", 0), args), (("a", 0), (0, [], 0, {}, ()))])
