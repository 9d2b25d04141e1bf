"""The client's record ``__init__`` code compiled by the build, not on a visitor's first page
(client_py/records.py: ``_prebuilt``; wasm_build/pyodide_compile.py: ``record_inits_module``).

Here in CPython, with a table made by the build's own function: a record whose shape the table
holds takes its code from it and behaves as a compiled one; any other is compiled as before.
The shipped files are checked under Node in test_bundle.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rapport.client_py import records
from rapport.client_py.records import FrozenInstanceError, field, record
from rapport.wasm_build.pyodide_compile import record_inits_module


@pytest.fixture
def compiled() -> Iterator[list[tuple[str, str]]]:
    """``records.COMPILED``, emptied for the test, and the table put back after it."""
    saved, table = list(records.COMPILED), records._PREBUILT
    records.COMPILED.clear()
    yield records.COMPILED
    records.COMPILED[:] = saved
    records._PREBUILT = table


def table_of(entries: list[tuple[str, str]]) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(record_inits_module(entries), namespace)
    inits: dict[str, Any] = namespace["INITS"]
    return inits


def make_tally() -> type:
    @record(frozen=True, slots=True)
    class Tally:
        name: str
        counts: dict[str, int] = field(default_factory=dict)
        total: int = 0

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", self.total + sum(self.counts.values()))

    return Tally


def test_a_record_whose_shape_the_table_holds_takes_its_code_and_compiles_nothing(
    compiled: list[tuple[str, str]],
) -> None:
    make_tally()
    ((key, _),) = compiled
    assert key == "frozen post_init name,counts(),total="
    records._PREBUILT = table_of(compiled)
    compiled.clear()
    tally = make_tally()
    assert compiled == []
    assert tally.__init__.__code__ is records._PREBUILT[key]  # type: ignore[misc]
    assert tally.__init__.__qualname__.endswith("Tally.__init__")  # type: ignore[misc]
    first, second = tally("a"), tally("b", {"x": 2}, total=1)
    assert (first.name, first.counts, first.total) == ("a", {}, 0)
    assert (second.name, second.counts, second.total) == ("b", {"x": 2}, 3)
    assert first.counts is not tally("c").counts  # a fresh value from the factory each time
    with pytest.raises(FrozenInstanceError):
        first.name = "b"
    with pytest.raises(TypeError):
        tally()


def test_a_record_the_table_lacks_is_compiled_and_listed_for_the_build(
    compiled: list[tuple[str, str]],
) -> None:
    records._PREBUILT = {}

    @record
    class Point:
        x: int
        y: int = 0

    assert compiled == [
        ("x,y=", "def __init__(self, x, y=_default_y):\n    self.x = x\n    self.y = y\n")
    ]
    assert (Point(1).x, Point(1).y, Point(1, 2).y) == (1, 0, 2)


def test_the_table_compiles_each_source_as_the_record_would_but_for_its_line_table(
    compiled: list[tuple[str, str]],
) -> None:
    records._PREBUILT = {}
    mine = make_tally().__init__.__code__  # type: ignore[misc]
    ((key, _),) = compiled
    built = table_of(compiled)[key]
    assert built != mine
    assert built.replace(co_linetable=mine.co_linetable) == mine


def test_two_sources_under_one_key_are_refused() -> None:
    with pytest.raises(ValueError, match="share the key 'x'"):
        record_inits_module([("x", "def __init__(self, x):\n    self.x = x\n"), ("x", "other")])
