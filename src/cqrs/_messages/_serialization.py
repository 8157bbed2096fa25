"""Shared `to_dict` / `from_dict` behaviour for the pydantic and dataclass variants."""

from __future__ import annotations

import dataclasses
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
    try:
        return cls(**kwargs)
    except TypeError as exc:
        msg = f"{cls.__qualname__}.from_dict() could not build the object: {exc}"
        raise TypeError(msg) from None
