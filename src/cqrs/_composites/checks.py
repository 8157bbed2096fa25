"""The run-time checks behind `bind`: is this a handler of that request or event?

What the `bind` overloads check statically is checked again when a map is filled, so
that code that is not type-checked fails at bind time, with both types named.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeAlias

from typing_extensions import TypeIs

from cqrs._errors import HandlerBindingTypeError
from cqrs._interfaces.cor import CORRequestHandler
from cqrs._interfaces.handlers import EventHandler, RequestHandler, StreamingRequestHandler
from cqrs._introspect import (
    UNKNOWN,
    is_class,
    is_compatible,
    type_arguments,
    type_name,
    unparameterized,
)
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = (
    "AnyRequestHandlerType",
    "check_cor_link",
    "check_event_handler",
    "check_request_handler",
    "checkable_response",
    "declared_response",
    "handled_types",
    "is_cor_link_class",
    "is_request_handler_class",
)

AnyRequestHandlerType: TypeAlias = (
    "type[RequestHandler[Any, Any] | StreamingRequestHandler[Any, Any]]"
)
"""A plain or a streaming request handler class."""


def is_request_handler_class(obj: object) -> TypeIs[AnyRequestHandlerType]:
    return is_class(obj) and issubclass(obj, (RequestHandler, StreamingRequestHandler))


def is_cor_link_class(obj: object) -> TypeIs[type[CORRequestHandler[Any, Any]]]:
    return is_class(obj) and issubclass(obj, CORRequestHandler)


def declared_response(request_type: type[IRequest[Any]]) -> object:
    """The response type `request_type` declares (`UNKNOWN` for a bare request)."""
    return (type_arguments(request_type, IRequest) or (UNKNOWN,))[0]


def checkable_response(request_type: type[IRequest[Any]]) -> type | None:
    """The class a response of `request_type` must be an instance of, if one is declared.

    A plain class (`NoneType` for `Request[None]`); None for `Any`, a bare request,
    unions and generic aliases (`list[int]`), which a cheap `isinstance` cannot check.
    """
    declared = declared_response(request_type)
    if declared is None:
        return type(None)
    if isinstance(declared, type) and declared is not object and not _is_alias(declared):
        return declared
    return None


def _is_alias(declared: type) -> bool:
    # `list[int]` passes isinstance(..., type) on Python 3.10 but cannot be checked.
    return getattr(declared, "__origin__", None) is not None


def handled_types(handler_type: object) -> tuple[object, object]:
    """The (request, response) type arguments a request handler or chain link declares
    (its class, or its parameterized generic class: `Forwarding[GetUser, UserDTO]`)."""
    cls = unparameterized(handler_type)
    if not isinstance(cls, type):
        return UNKNOWN, UNKNOWN
    bases: tuple[type, ...] = (RequestHandler, StreamingRequestHandler, CORRequestHandler)
    for base in bases:
        if base in cls.__mro__:
            found = type_arguments(handler_type, base)
            if found is not None:
                return found[0], found[1]
    return UNKNOWN, UNKNOWN


def check_request_handler(
    request_type: type[IRequest[Any]], handler_type: object
) -> AnyRequestHandlerType:
    """Check that `handler_type` is a handler class for `request_type` and its response."""
    request = type_name(request_type)
    handler_cls = unparameterized(handler_type)
    if not is_request_handler_class(handler_cls):
        msg = (
            f"cannot bind {handler_type!r} to {request}: it is not a request handler; "
            f"bind a subclass of cqrs.RequestHandler[{request}, ...] or "
            f"cqrs.StreamingRequestHandler[{request}, ...]"
        )
        raise HandlerBindingTypeError(msg)
    _check_pairing(request_type, handler_cls, handler_type)
    _check_handle_kind(handler_cls, streaming=issubclass(handler_cls, StreamingRequestHandler))
    return handler_cls


def check_cor_link(
    request_type: type[IRequest[Any]], link: object
) -> type[CORRequestHandler[Any, Any]]:
    """Check that `link` is a chain-of-responsibility handler class for `request_type`."""
    request = type_name(request_type)
    link_cls = unparameterized(link)
    if not is_cor_link_class(link_cls):
        msg = (
            f"cannot bind {link!r} in a chain for {request}: every link of a chain "
            f"must be a subclass of CORRequestHandler[{request}, ...]"
        )
        raise HandlerBindingTypeError(msg)
    _check_pairing(request_type, link_cls, link)
    _require_async_handle(link_cls)
    return link_cls


def _require_concrete(handler_type: type, target: str) -> None:
    if inspect.isabstract(handler_type):
        handler = type_name(handler_type)
        missing = ", ".join(sorted(getattr(handler_type, "__abstractmethods__", ())))
        msg = f"cannot bind {handler} to {target}: {handler} is abstract (missing: {missing})"
        raise HandlerBindingTypeError(msg)


def _require_async_handle(handler_type: type) -> None:
    if not inspect.iscoroutinefunction(inspect.getattr_static(handler_type, "handle", None)):
        msg = f"{type_name(handler_type)}.handle must be a coroutine function (async def)"
        raise HandlerBindingTypeError(msg)


def _check_pairing(
    request_type: type[IRequest[Any]], handler_type: type, declared_by: object
) -> None:
    """`declared_by` is `handler_type`, or the parameterized generic class bound."""
    request, handler = type_name(request_type), type_name(declared_by)
    _require_concrete(handler_type, request)
    handled, returned = handled_types(declared_by)
    if isinstance(handled, type) and not issubclass(request_type, handled):
        msg = (
            f"cannot bind {handler} to {request}: {handler} handles "
            f"{type_name(handled)}, and {request} is not a {type_name(handled)}; "
            f"bind {handler} to {type_name(handled)} or write a handler for {request}"
        )
        raise HandlerBindingTypeError(msg)
    declared = declared_response(request_type)
    if not is_compatible(returned, declared):
        msg = (
            f"cannot bind {handler} to {request}: {request} declares the response "
            f"{type_name(declared)}, but {handler} returns {type_name(returned)}"
        )
        raise HandlerBindingTypeError(msg)


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


def _is_event_handler_class(obj: object) -> TypeIs[type[EventHandler[Any]]]:
    return is_class(obj) and issubclass(obj, EventHandler)


def check_event_handler(event_type: type[IEvent], handler_type: object) -> type[EventHandler[Any]]:
    """Check that `handler_type` is an event handler class for `event_type`."""
    event = type_name(event_type)
    handler_cls = unparameterized(handler_type)
    if not _is_event_handler_class(handler_cls):
        msg = (
            f"cannot bind {handler_type!r} to {event}: it is not an event handler; "
            f"bind a subclass of cqrs.EventHandler[{event}]"
        )
        raise HandlerBindingTypeError(msg)
    handler = type_name(handler_type)
    _require_concrete(handler_cls, event)
    (handled,) = type_arguments(handler_type, EventHandler) or (None,)
    if isinstance(handled, type) and not issubclass(event_type, handled):
        msg = (
            f"cannot bind {handler} to {event}: {handler} handles {type_name(handled)}, "
            f"and {event} is not a {type_name(handled)}"
        )
        raise HandlerBindingTypeError(msg)
    _require_async_handle(handler_cls)
    return handler_cls
