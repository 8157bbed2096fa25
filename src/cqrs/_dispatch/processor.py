"""`EventProcessor`: processes the events a handler raised, and their follow-ups."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence

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
        await _ParallelRun(self._emitter, self._limit, events, failures).run()


class _ParallelRun:
    """One parallel `emit_events` call.

    Workers, not one task per event: at most `limit` emits run at once, and the
    calling task is the first worker, so a lone event starts no task at all. Each
    worker takes the next pending event until none is left; follow-ups join the
    queue and idle capacity is filled as soon as they arrive.
    """

    __slots__ = (
        "_active",
        "_crashes",
        "_emitter",
        "_failures",
        "_limit",
        "_loop",
        "_queue",
        "_tasks",
    )

    def __init__(
        self,
        emitter: EventEmitter,
        limit: int,
        events: Sequence[IEvent],
        failures: list[EventHandlingFailure],
    ) -> None:
        self._emitter = emitter
        self._limit = limit
        self._queue = collections.deque(events)
        self._failures = failures
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._crashes: list[Exception] = []
        self._active = 1  # the calling task

    async def run(self) -> None:
        try:
            first = self._queue.popleft()
            self._fill()
            try:
                await self._work(first)
            finally:
                self._active -= 1
            while self._tasks:
                await asyncio.wait(tuple(self._tasks))
        except BaseException:
            # Cancelled (or worse): no task may outlive this call.
            pending = tuple(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise
        if self._crashes:
            raise self._crashes[0]

    async def _work(self, event: IEvent) -> None:
        queue = self._queue
        while True:
            outcome = await self._emitter.emit_settled(event)
            if outcome.failures:
                self._failures.extend(outcome.failures)
            if outcome.follow_ups:
                queue.extend(outcome.follow_ups)
                self._fill()
            if not queue:
                return
            event = queue.popleft()

    async def _worker(self, event: IEvent) -> None:
        try:
            await self._work(event)
        except Exception as error:  # noqa: BLE001 - handler errors never get here; re-raised in run()
            self._crashes.append(error)
        finally:
            self._active -= 1

    def _fill(self) -> None:
        while self._queue and self._active < self._limit:
            self._active += 1
            task = self._loop.create_task(self._worker(self._queue.popleft()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
