"""Bootstrap of the request mediators (`cqrs.requests.bootstrap`)."""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import TypeVar

from cqrs._adapters.devnull import DevnullMessageBroker
from cqrs._bootstrap._common import (
    AnyContainer,
    EventsMapper,
    RequestsMapper,
    StartupHook,
    all_handler_types,
    build_event_map,
    build_middleware_chain,
    build_request_map,
    prepare_handlers,
    run_startup,
    wrap_container,
)
from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH
from cqrs._interfaces.broker import MessageBroker
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.middleware import Middleware
from cqrs._interfaces.outbox import OutboxWriter
from cqrs._maps.event_map import EventMap
from cqrs._mediators._outbox import TransactionalOutbox
from cqrs._mediators.request import RequestMediator
from cqrs._mediators.streaming import StreamingRequestMediator

__all__ = (
    "bootstrap",
    "bootstrap_streaming",
    "setup_event_emitter",
    "setup_mediator",
    "setup_streaming_mediator",
)


def setup_event_emitter(
    container: Resolver,
    domain_events_mapper: EventsMapper | None = None,
    message_broker: MessageBroker | None = None,
) -> EventEmitter:
    """Build an `EventEmitter` over the events `domain_events_mapper` binds.

    No broker given: a `DevnullMessageBroker`.
    """
    return EventEmitter(
        build_event_map(domain_events_mapper),
        container,
        message_broker if message_broker is not None else DevnullMessageBroker(),
    )


_MediatorT = TypeVar("_MediatorT", RequestMediator, StreamingRequestMediator)


def setup_mediator(
    event_emitter: EventEmitter,
    container: Resolver,
    middlewares: Sequence[Middleware] | None = None,
    commands_mapper: RequestsMapper | None = None,
    queries_mapper: RequestsMapper | None = None,
    event_map: EventMap | None = None,
    max_concurrent_event_handlers: int = 1,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
) -> RequestMediator:
    """Build a `RequestMediator` from mappers and an existing emitter.

    The parameters are python-cqrs's, in its order. `event_map` is the map the
    mediator reports (default: the emitter's); the emitter delivers the events.
    """
    return _setup(
        RequestMediator,
        event_emitter,
        container,
        middlewares,
        (commands_mapper, queries_mapper),
        event_map,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
    )


def setup_streaming_mediator(
    event_emitter: EventEmitter,
    container: Resolver,
    middlewares: Sequence[Middleware] | None = None,
    commands_mapper: RequestsMapper | None = None,
    queries_mapper: RequestsMapper | None = None,
    domain_events_mapper: EventsMapper | None = None,
    max_concurrent_event_handlers: int = 10,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
) -> StreamingRequestMediator:
    """Build a `StreamingRequestMediator` from mappers and an existing emitter.

    The parameters are python-cqrs's, in its order. `domain_events_mapper` fills the
    map the mediator reports (default: the emitter's); the emitter delivers the events.
    """
    return _setup(
        StreamingRequestMediator,
        event_emitter,
        container,
        middlewares,
        (commands_mapper, queries_mapper),
        None if domain_events_mapper is None else build_event_map(domain_events_mapper),
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
    )


def bootstrap(
    di_container: AnyContainer,
    message_broker: MessageBroker | None = None,
    middlewares: Sequence[Middleware] | None = None,
    commands_mapper: RequestsMapper | None = None,
    domain_events_mapper: EventsMapper | None = None,
    queries_mapper: RequestsMapper | None = None,
    on_startup: Sequence[StartupHook] | None = None,
    max_concurrent_event_handlers: int = 1,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
    *,
    outbox: type[OutboxWriter] | None = None,
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> RequestMediator:
    """Set up a `RequestMediator` in one call.

    `on_startup` hooks run first; each mapper is called once; every bound handler is
    solved by the container up front; `LoggingMiddleware` is appended unless given;
    no broker means a `DevnullMessageBroker`. With `outbox=` (a class the container
    builds per request, e.g. `SqlAlchemyOutboxedEventRepository`), handlers'
    notification events go to that outbox in their own transaction instead of the
    broker (see `RequestMediator`).

    Raises:
        DependencyResolutionError: a handler's dependencies cannot be built.
        InvalidConfigurationError: `max_concurrent_event_handlers` is below 1.
    """
    return _bootstrap(
        RequestMediator,
        di_container,
        message_broker,
        middlewares,
        (commands_mapper, queries_mapper),
        domain_events_mapper,
        on_startup,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
        outbox,
        max_follow_up_depth,
    )


def bootstrap_streaming(
    di_container: AnyContainer,
    message_broker: MessageBroker | None = None,
    middlewares: Sequence[Middleware] | None = None,
    commands_mapper: RequestsMapper | None = None,
    domain_events_mapper: EventsMapper | None = None,
    queries_mapper: RequestsMapper | None = None,
    on_startup: Sequence[StartupHook] | None = None,
    max_concurrent_event_handlers: int = 10,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
    *,
    outbox: type[OutboxWriter] | None = None,
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> StreamingRequestMediator:
    """Set up a `StreamingRequestMediator` in one call (see `bootstrap`)."""
    return _bootstrap(
        StreamingRequestMediator,
        di_container,
        message_broker,
        middlewares,
        (commands_mapper, queries_mapper),
        domain_events_mapper,
        on_startup,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
        outbox,
        max_follow_up_depth,
    )


def _bootstrap(
    mediator_type: type[_MediatorT],
    di_container: AnyContainer,
    message_broker: MessageBroker | None,
    middlewares: Sequence[Middleware] | None,
    requests_mappers: tuple[RequestsMapper | None, ...],
    domain_events_mapper: EventsMapper | None,
    on_startup: Sequence[StartupHook] | None,
    max_concurrent_event_handlers: int,
    concurrent_event_handle_enable: bool,  # noqa: FBT001 - mirrors the public parameters
    propagate_event_errors: bool,  # noqa: FBT001 - as above
    outbox: type[OutboxWriter] | None,
    max_follow_up_depth: int,
) -> _MediatorT:
    run_startup(on_startup)
    container = wrap_container(di_container)
    emitter = setup_event_emitter(container, domain_events_mapper, message_broker)
    mediator = _setup(
        mediator_type,
        emitter,
        container,
        middlewares,
        requests_mappers,
        None,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        propagate_event_errors,
        outbox,
        max_follow_up_depth,
    )
    handler_types = all_handler_types(mediator.request_map, emitter.event_map)
    if outbox is not None:
        pairing = TransactionalOutbox(outbox)
        # The outbox alone first: an error then names it, not a handler paired with it.
        handler_types += [outbox]
        handler_types += [
            pairing.pair_type(binding)
            for binding in mediator.request_map.values()
            if isinstance(binding, type)
        ]
    prepare_handlers(container, handler_types)
    return mediator


def _setup(
    mediator_type: type[_MediatorT],
    event_emitter: EventEmitter,
    container: Resolver,
    middlewares: Sequence[Middleware] | None,
    mappers: tuple[RequestsMapper | None, ...],
    event_map: EventMap | None,
    max_concurrent_event_handlers: int,
    concurrent_event_handle_enable: bool,  # noqa: FBT001 - mirrors the public parameters
    propagate_event_errors: bool,  # noqa: FBT001 - as above
    outbox: type[OutboxWriter] | None = None,
    max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
) -> _MediatorT:
    return mediator_type(
        build_request_map(*mappers),
        container,
        event_emitter=event_emitter,
        middleware_chain=build_middleware_chain(middlewares),
        event_map=event_map,
        max_concurrent_event_handlers=max_concurrent_event_handlers,
        concurrent_event_handle_enable=concurrent_event_handle_enable,
        propagate_event_errors=propagate_event_errors,
        outbox=outbox,
        max_follow_up_depth=max_follow_up_depth,
    )
