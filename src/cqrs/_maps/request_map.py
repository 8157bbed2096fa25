"""`RequestMap`: exactly one handler per request type, checked when bound."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, TypeAlias, overload

from typing_extensions import TypeIs, TypeVar

from cqrs._errors import HandlerAlreadyBoundError, HandlerBindingTypeError
from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._maps._introspect import UNKNOWN, is_compatible, type_arguments, type_name
from cqrs._messages.requests import IRequest

__all__ = ("AnyRequestHandlerType", "RequestClass", "RequestMap")

_ReqT_co = TypeVar("_ReqT_co", covariant=True)
_ResT_contra = TypeVar("_ResT_contra", contravariant=True)
_ReqT = TypeVar("_ReqT", bound=IRequest[Any])
_ResT = TypeVar("_ResT")

AnyRequestHandlerType: TypeAlias = (
    "type[RequestHandler[Any, Any] | StreamingRequestHandler[Any, Any]]"
)
"""What a `RequestMap` holds for a request type: a plain or a streaming handler class."""


class RequestClass(Protocol[_ReqT_co, _ResT_contra]):
    """A request class seen from `bind`: its instances are `_ReqT_co`, and it declares
    a response that a handler returning `_ResT_contra` satisfies.

    Every subclass of `cqrs.IRequest` matches it through two class-level accessors.
    This is what lets both type checkers reject `bind(GetUser, HandlerOfOrders)`.
    """

    def _cqrs_request_type(self) -> _ReqT_co: ...

    def _cqrs_response_sink(self, response: _ResT_contra, /) -> None: ...


class RequestMap(Mapping[type[IRequest[Any]], AnyRequestHandlerType]):
    """Maps each request type to exactly one handler class.

    Example:
        >>> import cqrs
        >>> class UserDTO(cqrs.Response):
        ...     name: str
        >>> class GetUser(cqrs.Request[UserDTO]):
        ...     user_id: int
        >>> class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
        ...     async def handle(self, request: GetUser) -> UserDTO:
        ...         return UserDTO(name="Ada")
        >>> requests = cqrs.RequestMap()
        >>> requests.bind(GetUser, GetUserHandler)
        >>> requests[GetUser] is GetUserHandler
        True
    """

    __slots__ = ("_registry",)

    def __init__(self) -> None:
        self._registry: dict[type[IRequest[Any]], AnyRequestHandlerType] = {}

    # pyright explains a failed call with its last overload: the plain handler,
    # the common case, goes last so that the explanation names it.
    @overload
    def bind(
        self,
        request_type: RequestClass[_ReqT, _ResT],
        handler_type: type[StreamingRequestHandler[_ReqT, _ResT]],
        /,
    ) -> None: ...

    @overload
    def bind(
        self,
        request_type: RequestClass[_ReqT, _ResT],
        handler_type: type[RequestHandler[_ReqT, _ResT]],
        /,
    ) -> None: ...

    def bind(self, request_type: object, handler_type: object, /) -> None:
        """Bind `handler_type` to `request_type`.

        Raises:
            HandlerBindingTypeError: (a `TypeError`) the handler is not a handler, or
                handles another request type, or returns another response type than
                the request declares.
            HandlerAlreadyBoundError: (a `KeyError`) the request type has a handler.
        """
        request_cls = _check_request_type(request_type)
        handler_cls = check_request_handler(request_cls, handler_type)
        bound = self._registry.get(request_cls)
        if bound is not None:
            msg = (
                f"{type_name(request_cls)} is already bound to {type_name(bound)}; "
                f"a request has exactly one handler, so {type_name(handler_cls)} "
                "cannot be bound too"
            )
            raise HandlerAlreadyBoundError(msg)
        self._registry[request_cls] = handler_cls

    def __getitem__(self, request_type: type[IRequest[Any]], /) -> AnyRequestHandlerType:
        return self._registry[request_type]

    def __iter__(self) -> Iterator[type[IRequest[Any]]]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{type_name(k)}: {type_name(v)}" for k, v in self._registry.items())
        return f"RequestMap({{{pairs}}})"


def _is_request_class(obj: object) -> TypeIs[type[IRequest[Any]]]:
    return isinstance(obj, type) and issubclass(obj, IRequest)


def _is_handler_class(obj: object) -> TypeIs[AnyRequestHandlerType]:
    return isinstance(obj, type) and issubclass(obj, (RequestHandler, StreamingRequestHandler))


def _check_request_type(request_type: object) -> type[IRequest[Any]]:
    if _is_request_class(request_type):
        return request_type
    msg = (
        f"RequestMap.bind() expects a request class (a subclass of cqrs.Request, "
        f"cqrs.DCRequest or cqrs.IRequest) first, got {request_type!r}"
    )
    raise HandlerBindingTypeError(msg)


def check_request_handler(
    request_type: type[IRequest[Any]], handler_type: object
) -> AnyRequestHandlerType:
    """Check at run time what the `bind` overloads check statically."""
    request = type_name(request_type)
    if not _is_handler_class(handler_type):
        msg = (
            f"cannot bind {handler_type!r} to {request}: it is not a request handler; "
            f"bind a subclass of cqrs.RequestHandler[{request}, ...] or "
            f"cqrs.StreamingRequestHandler[{request}, ...]"
        )
        raise HandlerBindingTypeError(msg)
    handler = type_name(handler_type)
    if inspect.isabstract(handler_type):
        missing = ", ".join(sorted(getattr(handler_type, "__abstractmethods__", ())))
        msg = f"cannot bind {handler} to {request}: {handler} is abstract (missing: {missing})"
        raise HandlerBindingTypeError(msg)
    streaming = issubclass(handler_type, StreamingRequestHandler)
    base = StreamingRequestHandler if streaming else RequestHandler
    args = type_arguments(handler_type, base) or (UNKNOWN, UNKNOWN)
    handled, returned = args
    if isinstance(handled, type) and not issubclass(request_type, handled):
        msg = (
            f"cannot bind {handler} to {request}: {handler} handles "
            f"{type_name(handled)}, and {request} is not a {type_name(handled)}; "
            f"bind {handler} to {type_name(handled)} or write a handler for {request}"
        )
        raise HandlerBindingTypeError(msg)
    declared = (type_arguments(request_type, IRequest) or (UNKNOWN,))[0]
    if not is_compatible(returned, declared):
        msg = (
            f"cannot bind {handler} to {request}: {request} declares the response "
            f"{type_name(declared)}, but {handler} returns {type_name(returned)}"
        )
        raise HandlerBindingTypeError(msg)
    _check_handle_kind(handler_type, streaming=streaming)
    return handler_type


def _check_handle_kind(handler_type: type, *, streaming: bool) -> None:
    handle = inspect.getattr_static(handler_type, "handle", None)
    handler = type_name(handler_type)
    if streaming and inspect.iscoroutinefunction(handle):
        msg = (
            f"{handler}.handle is a coroutine function; a StreamingRequestHandler "
            "must implement handle as an async generator (async def with yield)"
        )
        raise HandlerBindingTypeError(msg)
    if not streaming and inspect.isasyncgenfunction(handle):
        msg = (
            f"{handler}.handle is an async generator; derive {handler} from "
            "cqrs.StreamingRequestHandler to stream results, or return one response"
        )
        raise HandlerBindingTypeError(msg)
    if not streaming and callable(handle) and not inspect.iscoroutinefunction(handle):
        msg = f"{handler}.handle must be a coroutine function (async def)"
        raise HandlerBindingTypeError(msg)
