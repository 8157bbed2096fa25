"""Shared `to_dict` / `from_dict` behaviour for the pydantic and dataclass variants."""

from __future__ import annotations

import dataclasses
import typing
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)
_DataclassT = TypeVar("_DataclassT", bound="DataclassInstance")


def model_to_dict(model: pydantic.BaseModel) -> dict[str, Any]:
    # JSON mode so that the result can go to a broker as it is, and still validates back.
    return model.model_dump(mode="json")


def model_from_dict(cls: type[_ModelT], kwargs: dict[str, Any]) -> _ModelT:
    return cls.model_validate(kwargs)


def dataclass_to_dict(instance: DataclassInstance) -> dict[str, Any]:
    return dataclasses.asdict(instance)


def dataclass_from_dict(cls: type[_DataclassT], kwargs: dict[str, Any]) -> _DataclassT:
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        msg = (
            f"{cls.__qualname__}.from_dict() got unknown field(s) {unknown}; "
            f"expected fields: {sorted(names)}"
        )
        raise TypeError(msg)
    adapters = _field_adapters(cls)
    values = dict(kwargs)
    for name, value in kwargs.items():
        adapter = adapters.get(name)
        if adapter is None:
            continue
        try:
            values[name] = adapter.validate_python(value)
        except pydantic.ValidationError as exc:
            msg = f"{cls.__qualname__}.from_dict() got an invalid {name!r}: {exc}"
            raise ValueError(msg) from None
    try:
        return cls(**values)
    except TypeError as exc:
        msg = f"{cls.__qualname__}.from_dict() could not build the object: {exc}"
        raise TypeError(msg) from None


# Per dataclass: a validator for each field, so that `from_dict(**json.loads(...))` turns
# the JSON forms back into the declared types (UUID, datetime, nested dataclasses and
# models, a generic base's payload type; python-cqrs' `fromdict` converts the first ones
# too). None: a field whose type pydantic cannot validate (arbitrary classes,
# unresolvable annotations) is passed through as given.
_ADAPTERS: weakref.WeakKeyDictionary[type, dict[str, pydantic.TypeAdapter[Any] | None]] = (
    weakref.WeakKeyDictionary()
)


def _field_adapters(cls: type[DataclassInstance]) -> dict[str, pydantic.TypeAdapter[Any] | None]:
    known = _ADAPTERS.get(cls)
    if known is not None:
        return known
    try:
        hints = typing.get_type_hints(cls)
        bound = _type_arguments(cls)
    except Exception:  # noqa: BLE001 - e.g. a forward reference to a local class
        hints, bound = {}, {}
    adapters: dict[str, pydantic.TypeAdapter[Any] | None] = {}
    for field in dataclasses.fields(cls):
        hint = hints.get(field.name)
        adapter: pydantic.TypeAdapter[Any] | None = None
        if hint is not None:
            try:
                adapter = pydantic.TypeAdapter(_substitute(hint, bound))
            except Exception:  # noqa: BLE001 - no schema for this type: pass it through
                adapter = None
        adapters[field.name] = adapter
    _ADAPTERS[cls] = adapters
    return adapters


def _type_arguments(cls: type) -> dict[Any, Any]:
    # `class Shipped(DCNotificationEvent[Item])`: the base's type variables, bound.
    bound: dict[Any, Any] = {}
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            parameters = getattr(origin, "__parameters__", ())
            arguments = typing.get_args(base)
            if len(parameters) != len(arguments):
                continue
            for parameter, argument in zip(parameters, arguments, strict=True):
                bound.setdefault(parameter, _substitute(argument, bound))
    return bound


def _substitute(hint: Any, bound: dict[Any, Any]) -> Any:
    if isinstance(hint, TypeVar):
        return bound.get(hint, hint)
    parameters = getattr(hint, "__parameters__", ())
    if parameters and typing.get_origin(hint) is not None:
        return hint[tuple(bound.get(parameter, parameter) for parameter in parameters)]
    return hint
