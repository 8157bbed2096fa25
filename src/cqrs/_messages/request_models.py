"""The concrete request bases, a pydantic model and a dataclass (loaded on first use).

`cqrs._messages.requests` (and `cqrs` itself) load this module when one of its names is
first asked for.
"""

import dataclasses
from typing import Any, Generic, Literal

import pydantic
from typing_extensions import Self, TypeVar

from cqrs._messages import _serialization
from cqrs._messages.requests import IRequest
from cqrs._public import claim

__all__ = (
    "DCRequest",
    "DCStreamingRequest",
    "PydanticRequest",
    "PydanticStreamingRequest",
    "Request",
    "StreamingRequest",
)

# The same type variable as `IRequest`'s: covariant, `Any` by default.
_ResT_co = TypeVar("_ResT_co", covariant=True, default=Any)


class PydanticRequest(pydantic.BaseModel, IRequest[_ResT_co], Generic[_ResT_co]):
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
class DCRequest(IRequest[_ResT_co], Generic[_ResT_co]):
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


class PydanticStreamingRequest(PydanticRequest[_ResT_co], Generic[_ResT_co]):
    """A request that only a streaming handler serves (`cqrs.StreamingRequest`), opt-in.

    Both type checkers reject binding it to a plain handler and `send()`-ing it; it can
    only be `stream()`ed. A bare `cqrs.Request` stays valid for either kind.

    Example:
        >>> import cqrs
        >>> class Item(cqrs.Response):
        ...     number: int
        >>> class ListItems(cqrs.StreamingRequest[Item]):
        ...     count: int
        >>> ListItems._cqrs_sendable()
        False
    """

    @classmethod
    def _cqrs_sendable(cls) -> Literal[False]:  # type: ignore[override]  # the point: not sendable
        return False


@dataclasses.dataclass
class DCStreamingRequest(DCRequest[_ResT_co], Generic[_ResT_co]):
    """`cqrs.StreamingRequest` as a dataclass; decorate subclasses with `@dataclasses.dataclass`."""

    @classmethod
    def _cqrs_sendable(cls) -> Literal[False]:  # type: ignore[override]  # the point: not sendable
        return False


# The python-cqrs name: the pydantic variant is the default.
Request = PydanticRequest
StreamingRequest = PydanticStreamingRequest

# Top-level names of `cqrs`: they report it whichever module loads them first.
claim("cqrs", globals(), __all__)
