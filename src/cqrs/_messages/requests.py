"""Requests (commands and queries), generic in the response they produce.

`IRequest` is what the mediator works with. The concrete bases (`PydanticRequest`,
`DCRequest` and `Request`) live in `cqrs._messages.request_models`, loaded on first
use (PEP 562): defining a pydantic model class loads pydantic's field and type
machinery, which `import cqrs` does not otherwise need.
"""

import abc
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import Self, TypeVar

from cqrs._messages import _lazy

__all__ = ("DCRequest", "IRequest", "PydanticRequest", "Request")

# Invariant: the response type is both produced (by `send`) and checked against the
# handler's declared result at `bind`; see `_cqrs_response_sink`.
# The default keeps the python-cqrs spelling `class Ping(cqrs.Request)` valid.
_ResT = TypeVar("_ResT", default=Any)


class IRequest(abc.ABC, Generic[_ResT]):
    """Base of every request: a command or a query with exactly one handler.

    The type argument is the response that sending the request yields::

        class GetUser(cqrs.Request[UserDTO]):
            user_id: int

    A bare `cqrs.Request` base declares no response type (it is `Any`).
    """

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the request as a dictionary that `from_dict` accepts."""

    @classmethod
    @abc.abstractmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        """Build the request from keyword arguments, validating them."""

    # The two class-level accessors below are never called. They exist so that
    # `RequestMap.bind` can read, from the request *class* alone, both the request
    # type (`Self`) and the response type it declares: type checkers match the class
    # object against a protocol with these two members.
    @classmethod
    def _cqrs_request_type(cls) -> Self:
        msg = "_cqrs_request_type exists for type checkers only"
        raise NotImplementedError(msg)

    @classmethod
    def _cqrs_response_sink(cls, response: _ResT, /) -> None:
        msg = "_cqrs_response_sink exists for type checkers only"
        raise NotImplementedError(msg)


if TYPE_CHECKING:
    from cqrs._messages.request_models import DCRequest, PydanticRequest, Request

_MODELS = frozenset({"DCRequest", "PydanticRequest", "Request"})


def __getattr__(name: str) -> object:
    return _lazy.load(globals(), "cqrs._messages.request_models", _MODELS, name)
