"""`SagaMediator`: runs the saga bound to a context, as a stream of step results."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from cqrs.container.protocol import Resolver
from cqrs.events import EventEmitter, EventMap, EventProcessor, IEvent
from cqrs.exceptions import InvalidConfigurationError
from cqrs.middlewares.base import MiddlewareChain
from cqrs.response import IResponse
from cqrs.saga.map import SagaMap
from cqrs.saga.models import ContextT
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepResult
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.protocol import ISagaStorage
from cqrs.saga.transaction import DEFAULT_LEASE_SECONDS, new_owner

__all__ = ("SagaMediator",)


class SagaMediator:
    """Runs sagas: `mediator.stream(context, saga_id=...)` yields each step's result.

    The saga bound (in `saga_map`) to the context's class, or to its nearest base
    class, is built by the container, then each step. Each step's events go
    through the event pipeline (domain events to their handlers, notification
    events to the broker) before its result is yielded. No `storage` means a
    `MemorySagaStorage` of this mediator's own.

    `middleware_chain` is accepted for python-cqrs signatures and not applied:
    middlewares wrap requests, and a saga is not one (python-cqrs does not apply
    them either).
    """

    __slots__ = (
        "_container",
        "_lease_seconds",
        "_processor",
        "_retry",
        "_saga_map",
        "_storage",
    )

    def __init__(
        self,
        saga_map: SagaMap,
        container: Resolver,
        event_emitter: EventEmitter | None = None,
        middleware_chain: MiddlewareChain | None = None,  # noqa: ARG002 - see the docstring
        event_map: EventMap | None = None,
        max_concurrent_event_handlers: int = 1,
        concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
        storage: ISagaStorage | None = None,
        compensation_retry_count: int = 3,
        compensation_retry_delay: float = 1.0,
        compensation_retry_backoff: float = 2.0,
        *,
        propagate_event_errors: bool = False,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if max_concurrent_event_handlers < 1:
            msg = (
                "max_concurrent_event_handlers must be at least 1, "
                f"got {max_concurrent_event_handlers}"
            )
            raise InvalidConfigurationError(msg)
        self._saga_map = saga_map
        self._container = container
        self._storage = storage if storage is not None else MemorySagaStorage()
        self._retry = (
            compensation_retry_count,
            compensation_retry_delay,
            compensation_retry_backoff,
        )
        self._lease_seconds = lease_seconds
        if event_map is None:
            event_map = event_emitter.event_map if event_emitter is not None else EventMap()
        if event_emitter is None:
            event_emitter = EventEmitter(event_map, container)
        self._processor = EventProcessor(
            event_map,
            event_emitter,
            max_concurrent_event_handlers,
            concurrent_event_handle_enable,
            propagate_event_errors,
        )

    @property
    def saga_map(self) -> SagaMap:
        return self._saga_map

    @property
    def storage(self) -> ISagaStorage:
        return self._storage

    def stream(
        self,
        context: ContextT,
        saga_id: uuid.UUID | None = None,
    ) -> AsyncGenerator[SagaStepResult[ContextT, IResponse | None], None]:
        """Run (or resume, when `saga_id` exists) the saga for `context`; yield each step's result.

        A failing step's error is raised from the iteration after the completed
        steps were compensated.

        Raises:
            SagaDoesNotExist: no saga is bound to the context's class (raised here,
                before iteration starts).
        """
        saga_type = self._saga_map.saga_for(context)
        return self._run(saga_type, context, saga_id)

    async def _run(
        self,
        saga_type: type[Saga[Any]],
        context: ContextT,
        saga_id: uuid.UUID | None,
    ) -> AsyncGenerator[SagaStepResult[ContextT, IResponse | None], None]:
        saga: Saga[Any] = await self._container.resolve(saga_type)
        count, delay, backoff = self._retry
        transaction = saga.transaction(
            context,
            self._container,
            self._storage,
            saga_id,
            count,
            delay,
            backoff,
            owner=new_owner(),  # per stream: two streams of one saga never share a lease
            lease_seconds=self._lease_seconds,
            emit_events=self.emit_events,
        )
        async with transaction:
            async for result in transaction:
                yield result

    async def emit_events(self, events: Sequence[IEvent], step: object) -> None:
        """Process a step's events through this mediator's event pipeline.

        What the mediator does after each step; pass it as `emit_events=` to
        `recover_saga` or `SagaRecoveryWorker` so recovered steps' events are
        processed the same way.
        """
        await self._processor.emit_events(events, raised_by=step)
