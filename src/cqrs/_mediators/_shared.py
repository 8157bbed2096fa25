"""Pieces the mediators share: handler lookup and the event pipeline."""

from __future__ import annotations

from typing import Any

from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import EventProcessor
from cqrs._errors import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._maps._introspect import type_name
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import AnyRequestHandlerType, RequestMap
from cqrs._messages.requests import IRequest

__all__ = ("build_processor", "plain_handler_type", "streaming_handler_type")


def build_processor(
    container: Resolver,
    event_emitter: EventEmitter | None,
    event_map: EventMap | None,
    max_concurrent_event_handlers: int,
    concurrent_event_handle_enable: bool,  # noqa: FBT001 - mirrors the mediator parameters
    propagate_event_errors: bool,  # noqa: FBT001 - as above
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
    )


def _lookup(request_map: RequestMap, request: object) -> AnyRequestHandlerType:
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


def plain_handler_type(
    request_map: RequestMap, request: IRequest[Any]
) -> type[RequestHandler[Any, Any]]:
    handler_type = _lookup(request_map, request)
    if issubclass(handler_type, RequestHandler):
        return handler_type
    msg = (
        f"{type_name(type(request))} is bound to StreamingRequestHandler "
        f"{type_name(handler_type)}; use StreamingRequestMediator.stream() for it, "
        "not send()"
    )
    raise RequestHandlerTypeError(msg)


def streaming_handler_type(
    request_map: RequestMap, request: IRequest[Any]
) -> type[StreamingRequestHandler[Any, Any]]:
    handler_type = _lookup(request_map, request)
    if issubclass(handler_type, StreamingRequestHandler):
        return handler_type
    msg = (
        f"{type_name(type(request))} is bound to RequestHandler "
        f"{type_name(handler_type)}, which returns one response; use "
        "RequestMediator.send() for it, not stream()"
    )
    raise RequestHandlerTypeError(msg)
