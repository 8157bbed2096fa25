"""`RequestMap`: exactly one handler per request type, checked when bound."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, TypeAlias, cast, overload

from typing_extensions import TypeIs, TypeVar

from cqrs._composites.base import RequestComposite
from cqrs._composites.chain import HandlerChain
from cqrs._composites.checks import (
    AnyRequestHandlerType,
    check_request_handler,
    checkable_response,
    is_cor_link_class,
)
from cqrs._composites.fallback import RequestHandlerFallback
from cqrs._errors import HandlerAlreadyBoundError, HandlerBindingTypeError
from cqrs._interfaces.cor import CORRequestHandler
from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._introspect import is_class, type_name
from cqrs._messages.requests import IRequest, sendable

__all__ = (
    "AnyRequestHandlerType",
    "ConcreteRequestHandler",
    "ConcreteStreamingRequestHandler",
    "PlainHandler",
    "PlainRequestClass",
    "RequestBinding",
    "RequestClass",
    "RequestMap",
)

_ReqT_co = TypeVar("_ReqT_co", covariant=True)
_ResT_contra = TypeVar("_ResT_contra", contravariant=True)
_ReqT_contra = TypeVar("_ReqT_contra", contravariant=True)
_ResT_co = TypeVar("_ResT_co", covariant=True)
_ReqT = TypeVar("_ReqT", bound=IRequest[Any])
_ResT = TypeVar("_ResT")

RequestBinding: TypeAlias = "AnyRequestHandlerType | RequestComposite"
"""What a `RequestMap` holds for a request type: a plain or a streaming handler class,
a `RequestHandlerFallback`, or a `HandlerChain` (bound as a list of links)."""


PlainHandler: TypeAlias = "tuple[type[RequestHandler[Any, Any]], type | None]"
"""A plain handler class and the response class `send` checks its result against."""


class RequestClass(Protocol[_ReqT_co, _ResT_contra]):
    """A request class seen from `bind`: its instances are `_ReqT_co`, and it declares
    a response that a handler returning `_ResT_contra` satisfies.

    Every subclass of `cqrs.IRequest` matches it through two class-level accessors.
    This is what lets both type checkers reject `bind(GetUser, HandlerOfOrders)`.
    """

    def _cqrs_request_type(self) -> _ReqT_co: ...

    def _cqrs_response_sink(self, response: _ResT_contra, /) -> None: ...


class PlainRequestClass(RequestClass[_ReqT_co, _ResT_contra], Protocol[_ReqT_co, _ResT_contra]):
    """A request class that a plain handler may serve: any but a `cqrs.StreamingRequest`."""

    def _cqrs_sendable(self) -> Literal[True]: ...


class ConcreteRequestHandler(Protocol[_ReqT_contra, _ResT_co]):
    """A plain request handler class seen from `bind`: a `cqrs.RequestHandler` subclass
    whose `handle` is implemented, with `async def`.

    The base declares `handle` as returning an `Awaitable`, so a subclass that leaves it
    abstract does not match (mypy: no overload of `bind` matches; pyright: `"handle" is
    an incompatible type`).
    """

    _cqrs_plain_handler: ClassVar[Literal[True]]

    def handle(self, request: _ReqT_contra, /) -> Coroutine[Any, Any, _ResT_co]: ...


class ConcreteStreamingRequestHandler(Protocol[_ReqT_contra, _ResT_co]):
    """A streaming handler class seen from `bind`: a `cqrs.StreamingRequestHandler`
    subclass that implements `clear_events` (the base declares it as returning `object`,
    so a subclass that leaves it abstract does not match) and `handle`."""

    _cqrs_streaming_handler: ClassVar[Literal[True]]

    def clear_events(self) -> None: ...

    def handle(self, request: _ReqT_contra, /) -> AsyncIterator[_ResT_co]: ...


class RequestMap(Mapping[type[IRequest[Any]], RequestBinding]):
    """Maps each request type to exactly one handler class (or fallback pair, or chain).

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

    __slots__ = ("_plain", "_registry", "_responses")

    def __init__(self) -> None:
        self._registry: dict[type[IRequest[Any]], RequestBinding] = {}
        self._plain: dict[type[IRequest[Any]], PlainHandler] = {}
        self._responses: dict[type[IRequest[Any]], type] = {}

    # pyright explains a failed call with its last overload: the plain handler,
    # the common case, goes last so that the explanation names it.
    @overload
    def bind(
        self,
        request_type: RequestClass[_ReqT, _ResT],
        handler_type: type[ConcreteStreamingRequestHandler[_ReqT, _ResT]],
    ) -> None: ...

    @overload
    def bind(
        self,
        request_type: RequestClass[_ReqT, _ResT],
        handler_type: RequestHandlerFallback[_ReqT, _ResT],
    ) -> None: ...

    @overload
    def bind(
        self,
        request_type: PlainRequestClass[_ReqT, _ResT],
        handler_type: Sequence[type[CORRequestHandler[_ReqT, _ResT]]],
    ) -> None: ...

    @overload
    def bind(
        self,
        request_type: PlainRequestClass[_ReqT, _ResT],
        handler_type: type[ConcreteRequestHandler[_ReqT, _ResT]],
    ) -> None: ...

    def bind(self, request_type: object, handler_type: object) -> None:
        """Bind `handler_type` to `request_type`.

        `handler_type` is a `RequestHandler` or `StreamingRequestHandler` class, a
        `RequestHandlerFallback`, or a list of `CORRequestHandler` classes (a chain of
        responsibility, asked in that order).

        Raises:
            HandlerBindingTypeError: (a `TypeError`) the handler is not a handler, or
                handles another request type, or returns another response type than
                the request declares.
            HandlerAlreadyBoundError: (a `KeyError`) the request type has a handler.
        """
        request_cls = _check_request_type(request_type)
        handler_cls = _binding(request_cls, handler_type)
        if not sendable(request_cls) and not _serves_streams(handler_cls):
            msg = (
                f"cannot bind {type_name(handler_cls)} to {type_name(request_cls)}: "
                f"{type_name(request_cls)} is a StreamingRequest, which only a "
                "StreamingRequestHandler serves"
            )
            raise HandlerBindingTypeError(msg)
        bound = self._registry.get(request_cls)
        if bound is not None:
            msg = (
                f"{type_name(request_cls)} is already bound to {type_name(bound)}; "
                f"a request has exactly one handler, so {type_name(handler_cls)} "
                "cannot be bound too"
            )
            raise HandlerAlreadyBoundError(msg)
        self._registry[request_cls] = handler_cls
        if isinstance(handler_cls, type) and issubclass(handler_cls, RequestHandler):
            expected = checkable_response(request_cls)
            if expected is not None:
                self._responses[request_cls] = expected
            self._plain[request_cls] = (handler_cls, expected)

    @property
    def plain_handlers(self) -> Mapping[type[IRequest[Any]], PlainHandler]:
        """Each request bound to a plain handler class: the class, and the response
        class `send` checks (see `response_classes`), for the mediator's fast path."""
        return self._plain

    @property
    def response_classes(self) -> Mapping[type[IRequest[Any]], type]:
        """The class each plainly bound request's response is checked against on `send`.

        Only requests whose declared response is a plain class (`NoneType` for
        `Request[None]`) and whose handler is a plain `RequestHandler` are here.
        """
        return self._responses

    def __getitem__(self, request_type: type[IRequest[Any]], /) -> RequestBinding:
        return self._registry[request_type]

    def __iter__(self) -> Iterator[type[IRequest[Any]]]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{type_name(k)}: {type_name(v)}" for k, v in self._registry.items())
        return f"RequestMap({{{pairs}}})"


def _serves_streams(binding: RequestBinding) -> bool:
    if isinstance(binding, type):
        return issubclass(binding, StreamingRequestHandler)
    return binding.streaming


def _is_request_class(obj: object) -> TypeIs[type[IRequest[Any]]]:
    return is_class(obj) and issubclass(obj, IRequest)


def _check_request_type(request_type: object) -> type[IRequest[Any]]:
    if _is_request_class(request_type):
        return request_type
    msg = (
        f"RequestMap.bind() expects a request class (a subclass of cqrs.Request, "
        f"cqrs.DCRequest or cqrs.IRequest) first, got {request_type!r}"
    )
    raise HandlerBindingTypeError(msg)


def _binding(request_type: type[IRequest[Any]], handler: object) -> RequestBinding:
    if isinstance(handler, RequestComposite):
        handler.check_request(request_type)
        return handler
    if isinstance(handler, Sequence) and not isinstance(handler, (str, bytes)):
        return HandlerChain(request_type, cast("list[type[CORRequestHandler[Any, Any]]]", handler))
    if is_cor_link_class(handler):
        request, link = type_name(request_type), type_name(handler)
        msg = (
            f"cannot bind {link} to {request} on its own: {link} is a chain link; bind "
            f"the chain as a list, even of one link: mapper.bind({request}, [{link}])"
        )
        raise HandlerBindingTypeError(msg)
    return check_request_handler(request_type, handler)
