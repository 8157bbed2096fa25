"""Requests (commands and queries), generic in the response they produce.

`IRequest` is what the mediator works with. The concrete bases (`PydanticRequest`,
`DCRequest` and `Request`) live in `cqrs._messages.request_models`, loaded on first
use (PEP 562): defining a pydantic model class loads pydantic's field and type
machinery, which `import cqrs` does not otherwise need.
"""

import abc
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol

from typing_extensions import Self, TypeVar

from cqrs._introspect import UNKNOWN, every_type_arguments, is_compatible, type_name
from cqrs._messages import _lazy

__all__ = (
    "DCRequest",
    "DCStreamingRequest",
    "IRequest",
    "PydanticRequest",
    "PydanticStreamingRequest",
    "Request",
    "SendableRequest",
    "StreamingRequest",
    "sendable",
)

# Covariant: a request that yields `UserDTO` yields a `Response`, so `GetUser()` is an
# `IRequest[Response]` and `send`'s result can go where a supertype is expected.
# The default keeps the python-cqrs spelling `class Ping(cqrs.Request)` valid.
_ResT_co = TypeVar("_ResT_co", covariant=True, default=Any)


class IRequest(abc.ABC, Generic[_ResT_co]):
    """Base of every request: a command or a query with exactly one handler.

    The type argument is the response that sending the request yields::

        class GetUser(cqrs.Request[UserDTO]):
            user_id: int

    A bare `cqrs.Request` base declares no response type (it is `Any`).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_one_response(cls)

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
    def _cqrs_sendable(cls) -> Literal[True]:
        """Whether `send` takes this request: False for a `cqrs.StreamingRequest`.

        Its `Literal` return type is what the checkers read (`send` and the plain
        `bind` overloads ask for `Literal[True]`); the run time calls it too.
        """
        return True

    def _cqrs_response(self) -> _ResT_co:
        # Never called: lets a protocol (`send`'s parameter) read the response type.
        msg = "_cqrs_response exists for type checkers only"
        raise NotImplementedError(msg)

    @classmethod
    def _cqrs_request_type(cls) -> Self:
        msg = "_cqrs_request_type exists for type checkers only"
        raise NotImplementedError(msg)

    # The sink takes the response as a parameter so that `bind` gets an upper bound for
    # the handler's result (a handler may return a subtype, never another type). It is
    # never called, and a class object is matched against it by its own declaration, so
    # the covariant use here cannot be exploited through a widened `IRequest`.
    @classmethod
    def _cqrs_response_sink(cls, response: _ResT_co, /) -> None:  # type: ignore[misc]  # covariant on purpose, see above
        msg = "_cqrs_response_sink exists for type checkers only"
        raise NotImplementedError(msg)


def sendable(request_type: type[IRequest[Any]]) -> bool:
    """False for a `cqrs.StreamingRequest` (only a streaming handler serves it)."""
    # Typed `Literal[True]` on IRequest for the checkers; subclasses may say False.
    answer: bool = request_type._cqrs_sendable()  # noqa: SLF001  # pyright: ignore[reportPrivateUsage]  # this module's own marker
    return answer


class SendableRequest(Protocol[_ResT_co]):
    """What `send` takes: any request but a `cqrs.StreamingRequest`, yielding `_ResT_co`."""

    def _cqrs_sendable(self) -> Literal[True]: ...

    def _cqrs_response(self) -> _ResT_co: ...


def _check_one_response(cls: type) -> None:
    """Reject a request whose bases declare two unrelated responses.

    `class GetUserAsOrder(GetUser, cqrs.Request[OrderDTO])` would be sent as one and
    handled as the other; pyright rejects the class, mypy cannot see it.
    """
    declared: list[object] = []
    for (response,) in every_type_arguments(cls, IRequest):
        if response is UNKNOWN or response in declared:
            continue
        declared.append(response)
    for position, first in enumerate(declared):
        for second in declared[position + 1 :]:
            if not (is_compatible(first, second) or is_compatible(second, first)):
                msg = (
                    f"{type_name(cls)} declares two responses, {type_name(first)} and "
                    f"{type_name(second)}, through its bases; a request has one response "
                    "type: derive from one of them only"
                )
                raise TypeError(msg)


if TYPE_CHECKING:
    from cqrs._messages.request_models import (
        DCRequest,
        DCStreamingRequest,
        PydanticRequest,
        PydanticStreamingRequest,
        Request,
        StreamingRequest,
    )

_MODELS = frozenset(
    {
        "DCRequest",
        "DCStreamingRequest",
        "PydanticRequest",
        "PydanticStreamingRequest",
        "Request",
        "StreamingRequest",
    }
)


def __getattr__(name: str) -> object:
    return _lazy.load(globals(), "cqrs._messages.request_models", _MODELS, name)
