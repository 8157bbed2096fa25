"""What the bootstrap functions share: container wrapping, middlewares, up-front solving."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import di

from cqrs._adapters.di_container import DIContainer
from cqrs._adapters.logging_middleware import LoggingMiddleware
from cqrs._composites.base import EventComposite, RequestComposite
from cqrs._interfaces.container import Container
from cqrs._interfaces.middleware import Middleware, MiddlewareChain
from cqrs._maps.event_map import EventBinding, EventMap
from cqrs._maps.request_map import RequestBinding, RequestMap

__all__ = (
    "AnyContainer",
    "EventsMapper",
    "RequestsMapper",
    "StartupHook",
    "all_handler_types",
    "build_event_map",
    "build_middleware_chain",
    "build_request_map",
    "handler_classes",
    "prepare_handlers",
    "run_startup",
    "wrap_container",
)

AnyContainer: TypeAlias = "di.Container | Container[Any]"
"""A raw `di.Container` (wrapped in `DIContainer`) or any `cqrs.Container`."""

RequestsMapper: TypeAlias = Callable[[RequestMap], None]
"""A function that binds request types to handlers."""

EventsMapper: TypeAlias = Callable[[EventMap], None]
"""A function that binds event types to handlers."""

StartupHook: TypeAlias = Callable[[], None]
"""A function run once before anything else is set up."""


def wrap_container(container: AnyContainer) -> Container[Any]:
    if isinstance(container, di.Container):
        return DIContainer(container)
    return container


def run_startup(on_startup: Sequence[StartupHook] | None) -> None:
    for hook in on_startup or ():
        hook()


def build_request_map(*mappers: RequestsMapper | None) -> RequestMap:
    request_map = RequestMap()
    for mapper in mappers:
        if mapper is not None:
            mapper(request_map)
    return request_map


def build_event_map(mapper: EventsMapper | None) -> EventMap:
    event_map = EventMap()
    if mapper is not None:
        mapper(event_map)
    return event_map


def build_middleware_chain(middlewares: Sequence[Middleware] | None) -> MiddlewareChain:
    given = list(middlewares or ())
    if not any(isinstance(middleware, LoggingMiddleware) for middleware in given):
        given.append(LoggingMiddleware())
    return MiddlewareChain(given)


def prepare_handlers(container: Container[Any], handler_types: Iterable[type[Any]]) -> None:
    # Solving up front turns a missing dependency into a bootstrap error that names
    # the handler, instead of a failure at the first request.
    # Any container with a `prepare` (DIContainer, the dependency-injector adapter).
    prepare = getattr(container, "prepare", None)
    if callable(prepare):
        prepare(list(handler_types))


def all_handler_types(request_map: RequestMap, event_map: EventMap) -> list[type[Any]]:
    bindings: list[RequestBinding | EventBinding] = list(request_map.values())
    for handlers in event_map.values():
        bindings.extend(handlers)
    return handler_classes(bindings)


def handler_classes(bindings: Iterable[RequestBinding | EventBinding]) -> list[type[Any]]:
    """The handler classes behind `bindings`, fallbacks and chains unpacked."""
    classes: list[type[Any]] = []
    for binding in bindings:
        if isinstance(binding, (RequestComposite, EventComposite)):
            classes.extend(binding.members)
        else:
            classes.append(binding)
    return classes
