"""`EventProcessor`: processes the events a handler raised, and their follow-ups."""

from __future__ import annotations

import collections
import logging
from collections.abc import Sequence

import anyio

from cqrs._dispatch.emitter import EventEmitter, EventHandlingFailure, raise_failures
from cqrs._errors import InvalidConfigurationError
from cqrs._maps._introspect import type_name
from cqrs._maps.event_map import EventMap
from cqrs._messages.events import IEvent

__all__ = ("EventProcessor", "check_limit")

logger = logging.getLogger("cqrs")


def check_limit(max_concurrent_event_handlers: object) -> int:
    """Validate a concurrency limit; fail at construction, not at the first event."""
    if isinstance(max_concurrent_event_handlers, bool) or not isinstance(
        max_concurrent_event_handlers, int
    ):
        msg = (
            "max_concurrent_event_handlers must be an int >= 1, got "
            f"{max_concurrent_event_handlers!r}"
        )
        raise InvalidConfigurationError(msg)
    if max_concurrent_event_handlers < 1:
        msg = (
            "max_concurrent_event_handlers must be >= 1, got "
            f"{max_concurrent_event_handlers}; use 1 to handle events one at a time"
        )
        raise InvalidConfigurationError(msg)
    return max_concurrent_event_handlers


class EventProcessor:
    """Processes events and their follow-ups, one at a time or in parallel.

    Sequential mode goes breadth-first: the events in order, then their follow-ups.
    Parallel mode runs at most `max_concurrent_event_handlers` emits at once (a hard
    bound) and starts each follow-up as soon as its parent has finished.

    In both modes a failing handler never stops the others. The failures are logged
    at ERROR on the `"cqrs"` logger, or, with `propagate_event_errors=True`, raised
    once everything has settled (one as itself, several as an `ExceptionGroup`).
    No task outlives `emit_events`.
    """

    __slots__ = ("_concurrent", "_emitter", "_event_map", "_limit", "_propagate")

    def __init__(
        self,
        event_map: EventMap,
        event_emitter: EventEmitter,
        max_concurrent_event_handlers: int = 1,
        concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
        propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - python-cqrs style
    ) -> None:
        self._event_map = event_map
        self._emitter = event_emitter
        self._limit = check_limit(max_concurrent_event_handlers)
        self._concurrent = concurrent_event_handle_enable
        self._propagate = propagate_event_errors

    @property
    def event_map(self) -> EventMap:
        """The map of domain event handlers."""
        return self._event_map

    async def emit_events(self, events: Sequence[IEvent]) -> None:
        """Process `events` and every follow-up, returning when all have settled."""
        if not events:
            return
        failures: list[EventHandlingFailure] = []
        if self._concurrent:
            await self._parallel(events, failures)
        else:
            await self._sequential(events, failures)
        if not failures:
            return
        if self._propagate:
            raise_failures(failures, "processing events")
        for failure in failures:
            logger.error(
                "Event handler %s failed on %s",
                failure.handler_name,
                type_name(type(failure.event)),
                exc_info=failure.error,
            )

    async def _sequential(
        self, events: Sequence[IEvent], failures: list[EventHandlingFailure]
    ) -> None:
        queue = collections.deque(events)
        while queue:
            outcome = await self._emitter.emit_settled(queue.popleft())
            queue.extend(outcome.follow_ups)
            failures.extend(outcome.failures)

    async def _parallel(
        self, events: Sequence[IEvent], failures: list[EventHandlingFailure]
    ) -> None:
        # Workers, not one task per event: at most `limit` tasks exist at once. Each
        # starts with one event and then takes the next pending one until none is
        # left; follow-ups join the queue and idle capacity is filled at once.
        queue = collections.deque(events)
        active = 0

        async def worker(event: IEvent) -> None:
            nonlocal active
            try:
                while True:
                    outcome = await self._emitter.emit_settled(event)
                    failures.extend(outcome.failures)
                    queue.extend(outcome.follow_ups)
                    fill()
                    if not queue:
                        return
                    event = queue.popleft()
            finally:
                active -= 1

        def fill() -> None:
            nonlocal active
            while queue and active < self._limit:
                active += 1
                task_group.start_soon(worker, queue.popleft())

        async with anyio.create_task_group() as task_group:
            fill()
