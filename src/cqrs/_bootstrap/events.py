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
from cqrs._dispatch.companion import Companions
from cqrs._dispatch.emitter import INBOX_WANTED
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH
from cqrs._errors import InvalidConfigurationError
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.inbox import InboxWriter
from cqrs._interfaces.middleware import Middleware
from cqrs._introspect import type_name
from cqrs._mediators.event import EventMediator

__all__ = ("bootstrap", "setup_mediator")


def setup_mediator(
    container: Resolver,
    middlewares: Sequence[Middleware] | None = None,
    events_mapper: EventsMapper | None = None,
    *,
    inbox: type[InboxWriter] | None = None,
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> EventMediator:
    """Build an `EventMediator` from a mapper (python-cqrs's parameters, in its order).

    `LoggingMiddleware` is appended unless given. Unlike `bootstrap`, no startup hooks
    and no up-front solving of the handlers.
    """
    return EventMediator(
        build_event_map(events_mapper),
        container,
        build_middleware_chain(middlewares),
        inbox=inbox,
        max_follow_up_depth=max_follow_up_depth,
    )


def bootstrap(
    di_container: AnyContainer,
    middlewares: Sequence[Middleware] | None = None,
    events_mapper: EventsMapper | None = None,
    on_startup: Sequence[StartupHook] | None = None,
    *,
    inbox: type[InboxWriter] | None = None,
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> EventMediator:
    """Set up an `EventMediator` in one call (for broker consumers).

    With `inbox=` (e.g. `SqlAlchemyInboxRepository`), each handler processes a
    message once: see `EventMediator`.

    Raises:
        DependencyResolutionError: a handler's dependencies (or the inbox's) cannot
            be built.
        InvalidConfigurationError: `inbox` is not a class, or a fallback is bound
            while the inbox is on.
    """
    run_startup(on_startup)
    container = wrap_container(di_container)
    mediator = setup_mediator(
        container, middlewares, events_mapper, inbox=inbox, max_follow_up_depth=max_follow_up_depth
    )
    bindings = [h for hs in mediator.event_map.values() for h in hs]
    handler_types = handler_classes(bindings)
    if inbox is not None:
        for binding in bindings:
            if not isinstance(binding, type):
                msg = (
                    f"{type_name(binding)} (a fallback) is bound while inbox= is on; the "
                    "inbox records a message in one handler's session: bind the handlers "
                    "separately"
                )
                raise InvalidConfigurationError(msg)
        # The inbox alone first: an error then names it, not a handler paired with it.
        companions = Companions(inbox, wanted=INBOX_WANTED)
        handler_types += [inbox, *(companions.pair_type(b) for b in handler_types)]
    prepare_handlers(container, handler_types)
    return mediator
