"""Responses: what request handlers return."""

import abc
import dataclasses
from typing import Any

import pydantic
from typing_extensions import Self

from cqrs._messages import _serialization

__all__ = ("DCResponse", "IResponse", "PydanticResponse")


class IResponse(abc.ABC):
    """Base of the library's response classes (any type may be a response)."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the response as a dictionary that `from_dict` accepts."""

    @classmethod
    @abc.abstractmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        """Build the response from keyword arguments, validating them."""


class PydanticResponse(pydantic.BaseModel, IResponse):
    """A response that is a pydantic model (`cqrs.Response`)."""

    def to_dict(self) -> dict[str, Any]:
        return _serialization.model_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.model_from_dict(cls, kwargs)


@dataclasses.dataclass
class DCResponse(IResponse):
    """A response that is a dataclass; decorate subclasses with `@dataclasses.dataclass`."""

    def to_dict(self) -> dict[str, Any]:
        return _serialization.dataclass_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.dataclass_from_dict(cls, kwargs)


# The python-cqrs name: the pydantic variant is the default.
Response = PydanticResponse
