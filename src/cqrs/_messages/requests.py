"""Requests (commands and queries), generic in the response they produce."""

import abc
import dataclasses
from typing import Any, Generic

import pydantic
from typing_extensions import Self, TypeVar

from cqrs._messages import _serialization

__all__ = ("DCRequest", "IRequest", "PydanticRequest")

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


class PydanticRequest(pydantic.BaseModel, IRequest[_ResT], Generic[_ResT]):
    """A request that is a pydantic model (`cqrs.Request`).

    Example:
        >>> import cqrs
        >>> class UserDTO(cqrs.Response):
        ...     name: str
        >>> class GetUser(cqrs.Request[UserDTO]):
        ...     user_id: int
        >>> GetUser.from_dict(user_id="7")
        GetUser(user_id=7)
    """

    def to_dict(self) -> dict[str, Any]:
        return _serialization.model_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.model_from_dict(cls, kwargs)


@dataclasses.dataclass
class DCRequest(IRequest[_ResT], Generic[_ResT]):
    """A request that is a dataclass; decorate subclasses with `@dataclasses.dataclass`.

    Example:
        >>> import dataclasses, cqrs
        >>> @dataclasses.dataclass
        ... class DeleteUser(cqrs.DCRequest[None]):
        ...     user_id: int
        >>> DeleteUser.from_dict(**DeleteUser(user_id=3).to_dict())
        DeleteUser(user_id=3)
    """

    def to_dict(self) -> dict[str, Any]:
        return _serialization.dataclass_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.dataclass_from_dict(cls, kwargs)


# The python-cqrs name: the pydantic variant is the default.
Request = PydanticRequest
