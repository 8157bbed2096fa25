"""Pieces the mediators share: handler lookup and the event pipeline."""

from __future__ import annotations

from typing import Any, TypeAlias, cast

from cqrs._composites.base import RequestComposite
from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH, EventProcessor
from cqrs._errors import RequestHandlerDoesNotExist, RequestHandlerTypeError, ResponseTypeError
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._introspect import type_name
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import RequestBinding, RequestMap
from cqrs._messages.requests import IRequest

__all__ = (
    "PlainBinding",
    "StreamingBinding",
    "build_processor",
    "open_plain",
    "open_streaming",
    "plain_binding",
    "streaming_binding",
    "wrong_response",
)


def build_processor(
    container: Resolver,
    event_emitter: EventEmitter | None,
    event_map: EventMap | None,
    max_concurrent_event_handlers: int,
    concurrent_event_handle_enable: bool,  # noqa: FBT001 - mirrors the mediator parameters
    propagate_event_errors: bool,  # noqa: FBT001 - as above
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> EventProcessor:
    if event_map is None:
        event_map = event_emitter.event_map if event_emitter is not None else EventMap()
    if event_emitter is None:
        event_emitter = EventEmitter(event_map, container)
    return EventProcessor(
        event_map,
        event_emitter,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
        max_follow_up_depth=max_follow_up_depth,
    )


def _lookup(request_map: RequestMap, request: object) -> RequestBinding:
    try:
        return request_map[type(request)]  # type: ignore[index]  # a non-request is reported below
    except KeyError:
        pass
    request_name = type_name(type(request))
    msg = (
        f"no handler is bound to {request_name}; bind one in the commands or queries "
        f"mapper: mapper.bind({request_name}, <handler class>)"
    )
    if not isinstance(request, IRequest):
        msg = f"{request!r} is not a request (a cqrs.Request or cqrs.DCRequest instance)"
    raise RequestHandlerDoesNotExist(msg) from None


PlainBinding: TypeAlias = "type[RequestHandler[Any, Any]] | RequestComposite"
StreamingBinding: TypeAlias = "type[StreamingRequestHandler[Any, Any]] | RequestComposite"


def _is_streaming(binding: RequestBinding) -> bool:
    if isinstance(binding, type):
        return issubclass(binding, StreamingRequestHandler)
    return binding.streaming


def _describe(binding: RequestBinding, *, streaming: bool) -> str:
    if isinstance(binding, type):
        kind = "StreamingRequestHandler" if streaming else "RequestHandler"
        return f"{kind} {type_name(binding)}"
    kind = "streaming handlers" if streaming else "plain request handlers"
    return f"{type_name(binding)}, made of {kind}"


def plain_binding(request_map: RequestMap, request: IRequest[Any]) -> PlainBinding:
    binding = _lookup(request_map, request)
    if isinstance(binding, type) and issubclass(binding, RequestHandler):
        return binding  # the common case first: one lookup, two fast checks
    if not _is_streaming(binding):
        return cast("PlainBinding", binding)
    msg = (
        f"{type_name(type(request))} is bound to {_describe(binding, streaming=True)}; "
        "use StreamingRequestMediator.stream() for it, not send()"
    )
    raise RequestHandlerTypeError(msg)


def streaming_binding(request_map: RequestMap, request: IRequest[Any]) -> StreamingBinding:
    binding = _lookup(request_map, request)
    if _is_streaming(binding):
        return cast("StreamingBinding", binding)
    msg = (
        f"{type_name(type(request))} is bound to {_describe(binding, streaming=False)}, "
        "which returns one response; use RequestMediator.send() for it, not stream()"
    )
    raise RequestHandlerTypeError(msg)


# `isinstance(binding, type)` rather than an ABC check: this runs on every request.


async def open_plain(container: Resolver, binding: PlainBinding) -> RequestHandler[Any, Any]:
    if isinstance(binding, type):
        return await container.resolve(binding)
    return cast("RequestHandler[Any, Any]", await binding.open(container))


async def open_streaming(
    container: Resolver, binding: StreamingBinding
) -> StreamingRequestHandler[Any, Any]:
    if isinstance(binding, type):
        return await container.resolve(binding)
    return cast("StreamingRequestHandler[Any, Any]", await binding.open(container))


def wrong_response(
    handler: object, request: object, response: object, expected: type
) -> ResponseTypeError:
    """The error for a handler whose response is not what its request declares."""
    declared = "None" if expected is type(None) else type_name(expected)
    msg = (
        f"{type_name(type(handler))} returned {response!r:.200} ({type_name(type(response))}) "
        f"for {type_name(type(request))}, which declares the response {declared}; return "
        f"a {declared}"
    )
    return ResponseTypeError(msg)
