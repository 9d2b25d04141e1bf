"""``@record`` (client_py/records.py) behaves like the dataclass it replaced, where it matters."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from typing import Any

import pytest

import client_py
from client_py.records import (
    FrozenInstanceError,
    RecordField,
    field,
    record,
    record_fields,
    replace,
)


@record(frozen=True, slots=True)
class Point:
    """A frozen, slotted record like the page events."""

    t: float
    section: str | None
    item: str | None = None


@record
class Tally:
    """A mutable record like the features' running state."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0


@record(frozen=True)
class Checked:
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")


def test_a_record_takes_its_fields_by_position_and_by_name_in_annotation_order() -> None:
    assert Point(1.0, "price", "sku-1") == Point(t=1.0, item="sku-1", section="price")
    assert [f.name for f in record_fields(Point)] == ["t", "section", "item"]


def test_a_field_with_a_default_may_be_left_out() -> None:
    assert Point(1.0, "price").item is None
    assert Tally("a").total == 0


def test_a_missing_or_unknown_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Point(1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1.0, None, None, 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1.0, None, colour="red")  # type: ignore[call-arg]


def test_each_record_gets_a_fresh_value_from_its_default_factory() -> None:
    first, second = Tally("a"), Tally("b")
    first.counts["x"] = 1
    assert second.counts == {}
    assert Tally("c", {"y": 2}).counts == {"y": 2}


def test_a_frozen_record_refuses_assignment_and_deletion_like_a_frozen_dataclass() -> None:
    point = Point(1.0, None)
    with pytest.raises(FrozenInstanceError):
        point.t = 2.0  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.t
    assert FrozenInstanceError is dataclasses.FrozenInstanceError


def test_a_slotted_record_has_no_instance_dict() -> None:
    assert not hasattr(Point(1.0, None), "__dict__")
    assert Point.__slots__ == ("t", "section", "item")


def test_a_mutable_record_can_be_changed() -> None:
    tally = Tally("a")
    tally.total += 3
    assert tally.total == 3


def test_records_are_equal_field_by_field_and_only_to_the_same_class() -> None:
    @record(frozen=True, slots=True)
    class Other:
        t: float
        section: str | None
        item: str | None = None

    assert Point(1.0, "a") == Point(1.0, "a")
    assert Point(1.0, "a") != Point(1.0, "b")
    assert Point(1.0, "a") != Other(1.0, "a")  # type: ignore[comparison-overlap]
    assert Point(1.0, "a") != (1.0, "a", None)  # type: ignore[comparison-overlap]


def test_a_frozen_record_hashes_by_value_and_a_mutable_one_is_unhashable() -> None:
    assert hash(Point(1.0, "a")) == hash(Point(1.0, "a"))
    assert len({Point(1.0, "a"), Point(1.0, "a"), Point(2.0, "a")}) == 2
    with pytest.raises(TypeError):
        hash(Tally("a"))


def test_a_frozen_slotted_record_survives_copy_deepcopy_and_pickle() -> None:
    point = Point(1.0, "price", "sku-1")
    assert copy.copy(point) == point
    assert copy.deepcopy(point) == point
    assert pickle.loads(pickle.dumps(point)) == point
    assert copy.deepcopy(Tally("a", {"x": 1})) == Tally("a", {"x": 1})


def test_the_repr_names_the_class_and_every_field() -> None:
    assert repr(Point(1.0, "price")) == "Point(t=1.0, section='price', item=None)"


def test_match_takes_the_fields_positionally() -> None:
    match Point(1.0, "price", "sku-1"):
        case Point(t, section, item):
            assert (t, section, item) == (1.0, "price", "sku-1")
        case _:
            pytest.fail("no match")


def test_post_init_runs_after_the_fields_are_set() -> None:
    assert Checked(1.0, 2.0).high == 2.0
    with pytest.raises(ValueError, match="low > high"):
        Checked(2.0, 1.0)


def test_replace_copies_a_record_with_changes_and_refuses_unknown_fields() -> None:
    point = Point(1.0, "price")
    assert replace(point, item="sku-2") == Point(1.0, "price", "sku-2")
    assert point.item is None
    with pytest.raises(TypeError, match="colour"):
        replace(point, colour="red")
    with pytest.raises(ValueError, match="low > high"):
        replace(Checked(1.0, 2.0), low=3.0)


def test_record_fields_give_each_fields_annotation_and_default() -> None:
    assert record_fields(Tally("a"))[1:] == (
        RecordField("counts", "dict[str, int]", dataclasses.MISSING, dict),
        RecordField("total", "int", 0),
    )
    with pytest.raises(TypeError, match="not a record"):
        record_fields(object())


def test_a_class_default_stays_on_the_class_as_in_a_dataclass() -> None:
    assert Tally.total == 0
    assert not hasattr(Tally, "counts")


def test_a_field_without_a_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError, match="b has no default"):

        @record
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_a_slotted_record_whose_methods_use_super_is_refused() -> None:
    with pytest.raises(TypeError, match="super"):

        @record(frozen=True, slots=True)
        class Shown:
            t: float

            def __repr__(self) -> str:
                return "shown " + super().__repr__()


def test_no_client_module_creates_a_dataclass() -> None:
    """A dataclass costs a visitor's first page ≈ 1–2 ms to create in Pyodide; a record ≈ 0.2."""
    dataclasses_found: list[str] = []
    for module_info in pkgutil.iter_modules(client_py.__path__):
        module = importlib.import_module(f"client_py.{module_info.name}")
        members: list[tuple[str, Any]] = inspect.getmembers(module, inspect.isclass)
        dataclasses_found += [
            f"{module.__name__}.{name}"
            for name, cls in members
            if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
        ]
    assert dataclasses_found == []
