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
from cqrs._interfaces.middleware import Middleware
from cqrs._mediators.event import EventMediator

__all__ = ("bootstrap",)


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
    event_map = build_event_map(events_mapper)
    mediator = EventMediator(event_map, container, build_middleware_chain(middlewares))
    prepare_handlers(container, handler_classes(h for hs in event_map.values() for h in hs))
    return mediator
