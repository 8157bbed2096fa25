"""The concrete response bases, a pydantic model and a dataclass (loaded on first use).

`cqrs._messages.responses` (and `cqrs` itself) load this module when one of its names is
first asked for.
"""

import dataclasses
from typing import Any

import pydantic
from typing_extensions import Self

from cqrs._messages import _serialization
from cqrs._messages.responses import IResponse
from cqrs._public import claim

__all__ = ("DCResponse", "PydanticResponse", "Response")


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

# Top-level names of `cqrs`: they report it whichever module loads them first.
claim("cqrs", globals(), __all__)
