"""`bootstrap`: a `SagaMediator` in one call, as python-cqrs's `cqrs.saga.bootstrap`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import di

from cqrs.container.di import DIContainer
from cqrs.container.protocol import Container, Resolver
from cqrs.events import EventEmitter, EventMap
from cqrs.message_brokers.protocol import MessageBroker
from cqrs.middlewares.base import Middleware
from cqrs.requests.bootstrap import setup_event_emitter
from cqrs.saga.map import SagaMap
from cqrs.saga.mediator import SagaMediator
from cqrs.saga.storage.protocol import ISagaStorage
from cqrs.saga.transaction import DEFAULT_LEASE_SECONDS

__all__ = ("SagasMapper", "bootstrap", "setup_saga_mediator")

SagasMapper = Callable[[SagaMap], None]
"""A function that binds context types to sagas."""


def setup_saga_mediator(
    event_emitter: EventEmitter,
    container: Resolver,
    middlewares: Sequence[Middleware] | None = None,  # noqa: ARG001 - not applied to sagas
    sagas_mapper: SagasMapper | None = None,
    event_map: EventMap | None = None,
    max_concurrent_event_handlers: int = 1,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    saga_storage: ISagaStorage | None = None,
    *,
    compensation_retry_count: int = 3,
    compensation_retry_delay: float = 1.0,
    compensation_retry_backoff: float = 2.0,
    propagate_event_errors: bool = False,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> SagaMediator:
    """Build a `SagaMediator` over the sagas `sagas_mapper` binds."""
    saga_map = SagaMap()
    if sagas_mapper is not None:
        sagas_mapper(saga_map)
    return SagaMediator(
        saga_map,
        container,
        event_emitter,
        None,
        event_map if event_map is not None else event_emitter.event_map,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        saga_storage,
        compensation_retry_count,
        compensation_retry_delay,
        compensation_retry_backoff,
        propagate_event_errors=propagate_event_errors,
        lease_seconds=lease_seconds,
    )


def bootstrap(
    di_container: di.Container | Container[Any],
    message_broker: MessageBroker | None = None,
    middlewares: Sequence[Middleware] | None = None,
    sagas_mapper: SagasMapper | None = None,
    domain_events_mapper: Callable[[EventMap], None] | None = None,
    on_startup: Sequence[Callable[[], None]] | None = None,
    saga_storage: ISagaStorage | None = None,
    max_concurrent_event_handlers: int = 1,
    concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
    *,
    compensation_retry_count: int = 3,
    compensation_retry_delay: float = 1.0,
    compensation_retry_backoff: float = 2.0,
    propagate_event_errors: bool = False,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> SagaMediator:
    """Set up a `SagaMediator` in one call.

    `on_startup` hooks run first; a `di.Container` is wrapped in `DIContainer`;
    domain events raised by steps go to the handlers `domain_events_mapper` binds,
    notification events to `message_broker` (none: they are dropped, as by
    `DevnullMessageBroker`); no `saga_storage` means a `MemorySagaStorage`.
    `middlewares` are accepted for python-cqrs code and not applied to sagas.
    """
    for hook in on_startup or ():
        hook()
    container = (
        DIContainer(di_container) if isinstance(di_container, di.Container) else di_container
    )
    emitter = setup_event_emitter(container, domain_events_mapper, message_broker)
    return setup_saga_mediator(
        emitter,
        container,
        middlewares,
        sagas_mapper,
        emitter.event_map,
        max_concurrent_event_handlers,
        concurrent_event_handle_enable,
        saga_storage,
        compensation_retry_count=compensation_retry_count,
        compensation_retry_delay=compensation_retry_delay,
        compensation_retry_backoff=compensation_retry_backoff,
        propagate_event_errors=propagate_event_errors,
        lease_seconds=lease_seconds,
    )
