"""`SagaContext`: the state a saga's steps share, stored after every step."""

from __future__ import annotations

import dataclasses
import re
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


@dataclasses.dataclass
class SagaContext:
    """Base class of saga contexts: decorate subclasses with `@dataclasses.dataclass`.

    Steps read and update the context; the saga stores it (`to_dict`) after every
    step, and recovery rebuilds it (`from_dict`). Fields must be JSON-serialisable
    through pydantic (str, numbers, UUID, datetime, enums, nested dataclasses, ...).
    """

    def to_dict(self) -> dict[str, Any]:
        """The context as JSON-compatible data, keyed by field name."""
        data: dict[str, Any] = _adapter(type(self)).dump_python(self, mode="json")
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
        names = {field.name for field in dataclasses.fields(cls)}
        converted = {key if key in names else _snake(key): value for key, value in data.items()}
        context: Self = _adapter(cls).validate_python(converted)
        return context


ContextT = TypeVar("ContextT", bound=SagaContext)
"""A saga's context type."""
