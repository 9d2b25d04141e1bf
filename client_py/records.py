"""Record classes (``@record``): dataclasses' behaviour at a tenth of their creation cost.

Why not ``dataclasses``: creating a dataclass in Pyodide costs ≈ 1–2 ms, most of it compiling
the ≈ 40 lines of methods it generates for each class (``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__``, ``__delattr__``…). Importing the agent created 32 of them: ≈ 65 of
the 80–120 ms the import takes on a visitor's first page (measured under Node, 2026-12-04), time
the visitor waits for. A record compiles only its ``__init__`` (a few lines, so constructing one
is as fast as constructing a dataclass) and shares one ``__repr__``, ``__eq__`` and ``__hash__``
with every other record: they are not on any hot path.

What a record keeps from a dataclass, and the tests hold it to (``tests/client_py/
test_records.py``): fields from the class's annotations, in order; defaults and
``field(default_factory=...)``; ``frozen`` (assignment raises ``FrozenInstanceError``) and
``slots``; ``__eq__`` between records of the same class, field by field; ``__hash__`` from the
fields when frozen, none when mutable; a ``Name(field=value, …)`` repr; ``__match_args__``;
``__post_init__``; ``copy`` and ``pickle``. What it leaves out, because no client code uses it:
inheritance between records, ``ClassVar``/``InitVar``, ordering, ``kw_only``, ``super()`` in a
slotted record (refused with an error). Type checkers see a dataclass
(``typing.dataclass_transform``).

Every module using records has ``from __future__ import annotations``: the fields' types are
kept as strings and never evaluated (names imported only for type checking stay unimported).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field
from types import CodeType, FunctionType
from typing import Any, Final, TypeVar, dataclass_transform, overload

__all__ = ["FrozenInstanceError", "RecordField", "field", "record", "record_fields", "replace"]

_T = TypeVar("_T")
#: Set on every record class: its fields, in ``__init__``'s order.
_FIELDS: Final = "__record_fields__"
_NO_CODE: Final = (lambda: None).__code__


class RecordField(tuple[str, str, Any, "Callable[[], Any] | None"]):
    """One field of a record: its name, its annotation (a string) and its default.

    A tuple with named parts, written out: a ``NamedTuple`` compiles five snippets as it is
    made (its ``__new__`` and a forward reference per annotation), on every first page.
    """

    __slots__ = ()

    def __new__(
        cls,
        name: str,
        type: str,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
    ) -> RecordField:
        return super().__new__(cls, (name, type, default, default_factory))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def type(self) -> str:
        return self[1]

    @property
    def default(self) -> Any:
        return self[2]

    @property
    def default_factory(self) -> Callable[[], Any] | None:
        return self[3]

    def __repr__(self) -> str:
        return f"RecordField(name={self[0]!r}, type={self[1]!r}, default={self[2]!r}, " + (
            f"default_factory={self[3]!r})"
        )


@overload
def record(cls: type[_T], /) -> type[_T]: ...
@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(
    cls: type[_T] | None = None, /, *, frozen: bool = False, slots: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Make ``cls`` a record; used as ``@record`` or ``@record(frozen=True, slots=True)``."""

    def wrap(cls: type[_T]) -> type[_T]:
        return _make_record(cls, frozen=frozen, slots=slots)

    return wrap if cls is None else wrap(cls)


def record_fields(record_or_class: object) -> tuple[RecordField, ...]:
    """The fields of a record class or instance (what ``dataclasses.fields`` answers)."""
    cls = record_or_class if isinstance(record_or_class, type) else type(record_or_class)
    fields: tuple[RecordField, ...] | None = getattr(cls, _FIELDS, None)
    if fields is None:
        raise TypeError(f"{cls.__qualname__} is not a record")
    return fields


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of the record ``obj`` with ``changes`` (what ``dataclasses.replace`` does)."""
    values = {f.name: getattr(obj, f.name) for f in record_fields(obj)}
    unknown = changes.keys() - values.keys()
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no field {', '.join(sorted(unknown))}")
    return type(obj)(**{**values, **changes})


def _make_record(cls: type[_T], *, frozen: bool, slots: bool) -> type[_T]:
    annotations = inspect.get_annotations(cls)
    if not all(isinstance(kind, str) for kind in annotations.values()):
        raise TypeError(
            f"{cls.__qualname__}: a record's module needs `from __future__ import annotations`"
        )
    if any(getattr(base, _FIELDS, None) is not None for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__qualname__}: records do not inherit from records")
    fields = tuple(_field(cls, name, kind) for name, kind in annotations.items())
    if slots:
        namespace = {
            key: value
            for key, value in cls.__dict__.items()
            if key not in annotations and key not in ("__dict__", "__weakref__")
        }
        if any(
            "__class__" in getattr(v, "__code__", _NO_CODE).co_freevars for v in namespace.values()
        ):
            # Its __class__ cell would name the class replaced here (dataclasses patches it).
            raise TypeError(f"{cls.__qualname__}: a slotted record's methods cannot use super()")
        namespace["__slots__"] = tuple(f.name for f in fields)
        namespace["__qualname__"] = cls.__qualname__
        metaclass: type = type(cls)
        cls = metaclass(cls.__name__, cls.__bases__, namespace)
    else:
        # As in dataclasses: a plain default stays a class attribute, a field() gives way to
        # its default, or to nothing.
        for f in fields:
            if isinstance(cls.__dict__.get(f.name), Field):
                if f.default is MISSING:
                    delattr(cls, f.name)
                else:
                    setattr(cls, f.name, f.default)
    methods: dict[str, Any] = {
        _FIELDS: fields,
        "__match_args__": tuple(f.name for f in fields),
        "__init__": _init(cls, fields, frozen=frozen),
        "__repr__": _repr,
        "__eq__": _eq,
    }
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    if frozen and slots:
        # copy and pickle restore slots with setattr, which a frozen record refuses.
        methods["__getstate__"] = _values
        methods["__setstate__"] = _set_values
    # A class body's own __hash__ wins; otherwise frozen records hash by value and mutable
    # ones are unhashable (Python sets __hash__ to None in a body that defines __eq__).
    own_hash = cls.__dict__.get("__hash__") is not None
    methods["__hash__"] = _hash if frozen else None
    for name, method in methods.items():
        if name not in cls.__dict__ or (name == "__hash__" and not own_hash):
            setattr(cls, name, method)
    return cls


def _field(cls: type, name: str, kind: object) -> RecordField:
    value = cls.__dict__.get(name, MISSING)
    if isinstance(value, Field):
        factory = None if value.default_factory is MISSING else value.default_factory
        return RecordField(name, str(kind), value.default, factory)
    return RecordField(name, str(kind), value)


def _init(cls: type, fields: tuple[RecordField, ...], *, frozen: bool) -> Callable[..., None]:
    """``__init__``, compiled from a few lines like the one ``dataclasses`` would write, or
    taken from what the build compiled ahead (:func:`_prebuilt`)."""
    namespace: dict[str, Any] = {"_MISSING": MISSING, "_setattr": object.__setattr__}
    params, body, shape, defaults = ["self"], [], [], []
    for f in fields:
        value = f.name
        if f.default_factory is not None:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
            shape.append(f.name + "()")
            defaults.append(MISSING)
        elif f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            shape.append(f.name + "=")
            defaults.append(f.default)
        elif "=" in params[-1]:
            raise TypeError(f"{cls.__qualname__}: {f.name} has no default but follows one that has")
        else:
            params.append(f.name)
            shape.append(f.name)
        body.append(
            f"    _setattr(self, {f.name!r}, {value})" if frozen else f"    self.{f.name} = {value}"
        )
    post_init = hasattr(cls, "__post_init__")
    if post_init:
        body.append("    self.__post_init__()")
    # What the source is made of, in a few bytes: the key of the build's table.
    key = ("frozen " if frozen else "") + ("post_init " if post_init else "") + ",".join(shape)
    code = _prebuilt().get(key)
    if code is None:
        source = f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
        COMPILED.append((key, source))
        exec(source, namespace)  # built above from field names only
        init: Callable[..., None] = namespace["__init__"]
    else:
        init = FunctionType(code, namespace, "__init__", tuple(defaults) or None)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


#: The ``__init__`` this process compiled, as (key, source): the build collects them.
COMPILED: Final[list[tuple[str, str]]] = []
_PREBUILT: dict[str, CodeType] | None = None


def _prebuilt() -> dict[str, CodeType]:
    """The ``__init__`` code the build compiled ahead, by key (empty outside the bundle).

    Compiling the 32 records' ``__init__`` took 7.5–43 ms of the agent's import in Pyodide
    under Node (5 boots), most of what creating them cost: Python's compiler is code the
    worker runs nowhere else on a first page, so the wasm engine runs it cold. The build runs
    the client's flow in Pyodide, compiles every source listed in :data:`COMPILED` with the
    same compiler, and ships the code objects in ``client_py/_record_inits``
    (wasm_build/pyodide_compile.py). A record whose key the table lacks (one the flow never
    made) is compiled here as before.
    """
    global _PREBUILT
    if _PREBUILT is None:
        try:
            from ._record_inits import INITS  # type: ignore[import-not-found]
        except ImportError:
            INITS = {}
        _PREBUILT = INITS
    return _PREBUILT


def _repr(self: object) -> str:
    values = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in record_fields(self))
    return f"{type(self).__qualname__}({values})"


def _values(self: object) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in record_fields(self))


def _set_values(self: object, values: tuple[Any, ...]) -> None:
    for f, value in zip(record_fields(self), values, strict=True):
        object.__setattr__(self, f.name, value)


def _eq(self: object, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: object) -> int:
    return hash(_values(self))


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
