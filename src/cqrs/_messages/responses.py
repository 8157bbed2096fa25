"""Responses: what request handlers return.

`IResponse` is the interface. The concrete bases (`PydanticResponse`, `DCResponse` and
`Response`) live in `cqrs._messages.response_models`, loaded on first use (PEP 562),
like the requests'.
"""

import abc
from typing import TYPE_CHECKING, Any

from typing_extensions import Self

from cqrs._messages import _lazy

__all__ = ("DCResponse", "IResponse", "PydanticResponse", "Response")


class IResponse(abc.ABC):
    """Base of the library's response classes (any type may be a response)."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the response as a dictionary that `from_dict` accepts."""

    @classmethod
    @abc.abstractmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        """Build the response from keyword arguments, validating them."""


if TYPE_CHECKING:
    from cqrs._messages.response_models import DCResponse, PydanticResponse, Response

_MODELS = frozenset({"DCResponse", "PydanticResponse", "Response"})


def __getattr__(name: str) -> object:
    return _lazy.load(globals(), "cqrs._messages.response_models", _MODELS, name)
