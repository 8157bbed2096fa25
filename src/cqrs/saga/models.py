"""`SagaContext`: the state a saga's steps share, stored after every step."""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any

import pydantic
from typing_extensions import Self, TypeVar

__all__ = ("ContextT", "SagaContext")

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


_ADAPTERS: dict[type[Any], pydantic.TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> pydantic.TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = pydantic.TypeAdapter(cls)
    return adapter


def _snake(key: str) -> str:
    return _CAMEL_BOUNDARY.sub(r"_\1", key).lower()


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError):  # an unresolvable annotation: take the raw ones
            hints = {field.name: field.type for field in dataclasses.fields(cls)}
        _HINTS[cls] = hints
    return hints


def _field_names(tp: object, value: object) -> object:
    """`value` with python-cqrs's camelCase keys turned into field names, at every level.

    Only the keys of dataclasses are converted (nested ones, in lists and optionals
    too); a plain `dict` field keeps its keys.
    """
    unchanged = value  # declared `object`, whatever the checks below narrow
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        hints = _hints(tp)
        converted: dict[str, object] = {}
        for key, item in typing.cast("dict[str, object]", value).items():
            name = key if key in hints else _snake(key)
            converted[name] = _field_names(hints.get(name), item)
        return converted
    args = typing.get_args(tp)
    if isinstance(value, list) and args:
        return [_field_names(args[0], item) for item in typing.cast("list[object]", value)]
    if isinstance(value, dict) and len(args) == 2 and typing.get_origin(tp) is dict:  # noqa: PLR2004 - key and value
        return {
            key: _field_names(args[1], item)
            for key, item in typing.cast("dict[object, object]", value).items()
        }
    if isinstance(value, dict):  # an optional or a union: the first dataclass member
        mapping = typing.cast("dict[str, object]", value)
        for member in args:
            if isinstance(member, type) and dataclasses.is_dataclass(member):
                return _field_names(member, mapping)
    return unchanged


@dataclasses.dataclass
class SagaContext:
    """Base class of saga contexts: decorate subclasses with `@dataclasses.dataclass`.

    Steps read and update the context; the saga stores it (`to_dict`) after every
    step, and recovery rebuilds it (`from_dict`). Fields must be JSON-serialisable
    through pydantic (str, numbers, UUID, datetime, enums, nested dataclasses, ...).
    """

    def to_dict(self) -> dict[str, Any]:
        """The context as JSON-compatible data, keyed by field name."""
        # The adapter's serializer directly: to_dict runs at every checkpoint.
        data: dict[str, Any] = _adapter(type(self)).serializer.to_python(self, mode="json")
        return data

    def model_dump(self) -> dict[str, Any]:
        """Same as `to_dict` (the name pydantic users expect)."""
        return self.to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a context from `to_dict` data, validating each field.

        Keys written by python-cqrs (camelCase) are accepted too, so sagas it stored
        can be recovered. A missing or invalid field raises `pydantic.ValidationError`.
        """
        context: Self = _adapter(cls).validate_python(_field_names(cls, data))
        return context


ContextT = TypeVar("ContextT", bound=SagaContext)
"""A saga's context type."""
