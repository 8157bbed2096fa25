"""Bootstrap of the event mediator (`cqrs.events.bootstrap`)."""

from __future__ import annotations

from collections.abc import Sequence

from cqrs._bootstrap._common import (
    AnyContainer,
    EventsMapper,
    StartupHook,
    build_event_map,
    build_middleware_chain,
    handler_classes,
    prepare_handlers,
    run_startup,
    wrap_container,
)
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.middleware import Middleware
from cqrs._mediators.event import EventMediator

__all__ = ("bootstrap", "setup_mediator")


def setup_mediator(
    container: Resolver,
    middlewares: Sequence[Middleware] | None = None,
    events_mapper: EventsMapper | None = None,
) -> EventMediator:
    """Build an `EventMediator` from a mapper (python-cqrs's parameters, in its order).

    `LoggingMiddleware` is appended unless given. Unlike `bootstrap`, no startup hooks
    and no up-front solving of the handlers.
    """
    return EventMediator(
        build_event_map(events_mapper), container, build_middleware_chain(middlewares)
    )


def bootstrap(
    di_container: AnyContainer,
    middlewares: Sequence[Middleware] | None = None,
    events_mapper: EventsMapper | None = None,
    on_startup: Sequence[StartupHook] | None = None,
) -> EventMediator:
    """Set up an `EventMediator` in one call (for broker consumers).

    Raises:
        DependencyResolutionError: a handler's dependencies cannot be built.
    """
    run_startup(on_startup)
    container = wrap_container(di_container)
    mediator = setup_mediator(container, middlewares, events_mapper)
    handlers = (h for hs in mediator.event_map.values() for h in hs)
    prepare_handlers(container, handler_classes(handlers))
    return mediator
