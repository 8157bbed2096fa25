"""`EventProcessor`: processes the events a handler raised, and their follow-ups."""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence

from cqrs._dispatch.emitter import (
    EmitOutcome,
    EventEmitter,
    EventHandlingFailure,
    all_events,
    non_events,
    raise_failures,
)
from cqrs._dispatch.slots import Slots
from cqrs._errors import FollowUpDepthError, InvalidConfigurationError
from cqrs._introspect import type_name
from cqrs._maps.event_map import EventMap
from cqrs._messages.events import IEvent

__all__ = ("DEFAULT_MAX_FOLLOW_UP_DEPTH", "EventProcessor", "check_limit")

DEFAULT_MAX_FOLLOW_UP_DEPTH = 32
"""How deep follow-up events may nest under one event a handler raised."""

_Chain = tuple[str, ...]
"""The event types a follow-up descends from, its root first (empty for a root)."""

_Queued = tuple[IEvent, _Chain]

logger = logging.getLogger("cqrs")

# The processors whose slot the current task holds. An event handler that sends a
# request through the same mediator must not wait for a slot it holds itself (with a
# limit of 1 that would never end): its events run inline, in the slot it has.
_holding: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "cqrs_holding_event_slots", default=frozenset()
)


_Emit = Callable[[IEvent], Awaitable[EmitOutcome]]
"""Delivers one event and reports, never raises: what the processor calls per event."""


_DEFAULT_EMIT = EventEmitter.emit


def _settling(emitter: EventEmitter) -> _Emit:
    """Call a replaced `emit`, reporting what it raises like a handler failure.

    For an `emit` overridden by a subclass or patched on the instance (a test's
    `AsyncMock`). The default `emit` only raises what `emit_settled` reports, so
    the processor calls `emit_settled` directly for it: nothing raised and caught
    per event.
    """
    emit = emitter.emit
    name = f"{type_name(type(emitter))}.emit"

    async def settle(event: IEvent) -> EmitOutcome:
        try:
            follow_ups = await emit(event)
        except Exception as error:  # noqa: BLE001 - isolated, reported like a handler failure
            return EmitOutcome((), (EventHandlingFailure(event, name, error),))
        return EmitOutcome(follow_ups or (), ())

    return settle


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


def _check_depth(max_follow_up_depth: object) -> int:
    if (
        isinstance(max_follow_up_depth, bool)
        or not isinstance(max_follow_up_depth, int)
        or max_follow_up_depth < 0
    ):
        msg = f"max_follow_up_depth must be an int >= 0, got {max_follow_up_depth!r}"
        raise InvalidConfigurationError(msg)
    return max_follow_up_depth


def _follow(
    queue: collections.deque[_Queued],
    parent: IEvent,
    chain: _Chain,
    follow_ups: Sequence[IEvent],
    max_depth: int,
    failures: list[EventHandlingFailure],
) -> None:
    """Queue `follow_ups` of `parent`, unless they would nest deeper than `max_depth`."""
    chain = (*chain, type_name(type(parent)))
    if len(chain) <= max_depth:
        queue.extend((follow_up, chain) for follow_up in follow_ups)
        return
    names = " -> ".join(chain)
    next_names = ", ".join(sorted({type_name(type(follow_up)) for follow_up in follow_ups}))
    msg = (
        f"follow-up events nested deeper than max_follow_up_depth={max_depth}: {names} "
        f"-> {next_names}; the last ones were not processed. A cycle? (A's handler "
        "raises B and B's raises A.) Otherwise raise max_follow_up_depth"
    )
    failures.append(
        EventHandlingFailure(parent, "(the follow-up depth limit)", FollowUpDepthError(msg))
    )


def _only_events(
    events: Sequence[IEvent], raised_by: object
) -> tuple[list[IEvent], list[EventHandlingFailure]]:
    """The events among `events`, and a failure for each thing that is not one."""
    name = raised_by if isinstance(raised_by, str) else type_name(type(raised_by))
    return non_events(events, "a handler" if raised_by is None else name, None)


def _emit_of(emitter: EventEmitter) -> _Emit:
    """`emit_settled`, unless `emit` is overridden (by a subclass, or patched)."""
    if type(emitter).emit is _DEFAULT_EMIT and "emit" not in emitter.__dict__:
        return emitter.emit_settled
    return _settling(emitter)


class EventProcessor:
    """Processes events and their follow-ups, one at a time or in parallel.

    Sequential mode goes breadth-first: the events in order, then their follow-ups.
    Each event goes to the emitter's `emit_settled`; a subclass that overrides `emit`
    (or an instance whose `emit` is patched) has its `emit` called instead, and what
    it raises is reported like a handler failure. Without an emitter, `emit_events`
    does nothing.

    Parallel mode runs at most `max_concurrent_event_handlers` emits at once across
    every call of this processor (so across all the requests and streams of one
    mediator: a hard bound) and starts each follow-up as soon as its parent finishes.

    In both modes a failing handler never stops the others. The failures are logged
    at ERROR on the `"cqrs"` logger, or, with `propagate_event_errors=True`, raised
    once everything has settled (one as itself, several as an `ExceptionGroup`).
    So are two mistakes of handlers: something that is not an event in their events
    (a `TypeError` naming the handler), and follow-ups nested deeper than
    `max_follow_up_depth` under one root event (a `FollowUpDepthError` naming the
    chain of event types; those follow-ups are dropped). No task outlives
    `emit_events`.

    The limit is a hard bound in parallel mode. Sequential mode processes each call's
    events one at a time in its caller, without taking slots: concurrent calls run
    their handlers side by side, whatever the limit.
    """

    __slots__ = (
        "_concurrent",
        "_emitter",
        "_event_map",
        "_last_loop",
        "_last_spawner",
        "_limit",
        "_mark",
        "_max_depth",
        "_propagate",
        "_slots",
        "_spawners",
    )

    def __init__(
        self,
        event_map: EventMap,
        event_emitter: EventEmitter | None = None,
        max_concurrent_event_handlers: int = 1,
        concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
        propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - python-cqrs style
        *,
        max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
    ) -> None:
        self._event_map = event_map
        self._max_depth = _check_depth(max_follow_up_depth)
        self._mark = frozenset((id(self),))  # what `_holding` gets while this holds a slot
        self._emitter = event_emitter
        self._limit = check_limit(max_concurrent_event_handlers)
        self._slots = Slots(self._limit)
        self._concurrent = concurrent_event_handle_enable
        self._propagate = propagate_event_errors
        # One spawner per event loop this processor serves (a mediator may serve several).
        self._spawners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Spawner] = (
            weakref.WeakKeyDictionary()
        )
        self._last_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._last_spawner = _Spawner()

    @property
    def event_map(self) -> EventMap:
        """The map of domain event handlers."""
        return self._event_map

    async def emit_events(self, events: Sequence[IEvent], *, raised_by: object = None) -> None:
        """Process `events` and every follow-up, returning when all have settled.

        `raised_by`, the handler that raised them (or a name), is named in the error
        about a non-event among them. Without an emitter this does nothing.
        """
        emitter = self._emitter
        if not events or emitter is None:
            return
        failures: list[EventHandlingFailure] = []
        if not all_events(events):
            events, failures = _only_events(events, raised_by)
        emit = _emit_of(emitter)
        holding = _holding.get()
        if not events:
            pass
        elif not self._concurrent or id(self) in holding:
            # Sequential mode, or re-entered from one of our own event handlers: stay
            # in the slot that handler has.
            await self._sequential(emit, events, failures)
        elif len(events) == 1:
            # One event (a stream item's, often): what a parallel run of it does,
            # without the run (inlined: this runs per item). It waits for a slot and
            # is handled here; its follow-ups, if any, go to a parallel run.
            token = _holding.set(holding | self._mark if holding else self._mark)
            slots = self._slots
            try:
                if not slots.try_acquire():  # a free slot needs no coroutine
                    await slots.acquire()
                try:
                    outcome = await emit(events[0])
                finally:
                    slots.release()
            finally:
                _holding.reset(token)
            if outcome.failures or outcome.follow_ups:
                await self._settle(emit, events[0], outcome, failures)
        else:
            queue: collections.deque[_Queued] = collections.deque([(e, ()) for e in events])
            await self._parallel(emit, queue, failures)
        if failures:
            self._report(failures)

    async def _settle(
        self,
        emit: _Emit,
        event: IEvent,
        outcome: EmitOutcome,
        failures: list[EventHandlingFailure],
    ) -> None:
        """Record the failures of one event handled alone, and run its follow-ups."""
        failures.extend(outcome.failures)
        if outcome.follow_ups:
            queue: collections.deque[_Queued] = collections.deque()
            _follow(queue, event, (), outcome.follow_ups, self._max_depth, failures)
            if queue:
                await self._parallel(emit, queue, failures)

    def _report(self, failures: list[EventHandlingFailure]) -> None:
        if self._propagate:
            raise_failures(failures, "processing events")
        for failure in failures:
            logger.error(
                "Event handler %s failed on %s",
                failure.handler_name,
                type_name(type(failure.event)),
                exc_info=failure.error,
            )

    async def _parallel(
        self, emit: _Emit, queue: collections.deque[_Queued], failures: list[EventHandlingFailure]
    ) -> None:
        spawner = self._spawner(asyncio.get_running_loop())
        run = _ParallelRun(emit, self._slots, spawner, id(self), queue, failures, self._max_depth)
        await run.run()

    def _spawner(self, loop: asyncio.AbstractEventLoop) -> _Spawner:
        last = self._last_loop
        if last is not None and last() is loop:
            return self._last_spawner
        spawner = self._spawners.get(loop)
        if spawner is None:
            spawner = self._spawners[loop] = _Spawner()
        self._last_loop, self._last_spawner = weakref.ref(loop), spawner
        return spawner

    async def _sequential(
        self, emit: _Emit, events: Sequence[IEvent], failures: list[EventHandlingFailure]
    ) -> None:
        queue: collections.deque[_Queued] = collections.deque((event, ()) for event in events)
        while queue:
            event, chain = queue.popleft()
            outcome = await emit(event)
            failures.extend(outcome.failures)
            if outcome.follow_ups:
                _follow(queue, event, chain, outcome.follow_ups, self._max_depth, failures)


class _Spawner:
    """Starts worker tasks for the parallel runs of one processor on one event loop.

    One pending callback serves every run that has work waiting, however many calls
    complete without ever yielding to the loop: a callback per run would pile up in
    the loop's queue until it next gets control.
    """

    __slots__ = ("_pending", "_waiting")

    def __init__(self) -> None:
        self._pending: asyncio.Handle | None = None
        # Each run with the context its workers start in (its caller's).
        self._waiting: dict[_ParallelRun, contextvars.Context] = {}

    def want(self, run: _ParallelRun) -> None:
        if run not in self._waiting:
            self._waiting[run] = contextvars.copy_context()
        if self._pending is None:
            # Called from its own loop; not kept, so the loop can be collected.
            self._pending = asyncio.get_running_loop().call_soon(self._fire)

    def drop(self, run: _ParallelRun) -> None:
        self._waiting.pop(run, None)

    def _fire(self) -> None:
        self._pending = None
        waiting, self._waiting = self._waiting, {}
        for run, context in waiting.items():
            context.run(run.spawn)


class _ParallelRun:
    """One parallel `emit_events` call.

    Workers, not one task per event: every worker holds one of the processor's
    slots, and the calling task is the first worker. Each worker takes the next
    pending event until none is left; follow-ups join the queue. More workers are
    started only once the running ones yield to the event loop: handlers that never
    wait run one after another in the caller, with no task and no loop turn at all,
    while handlers that wait (the ones worth running in parallel) get free slots for
    the pending events at their first `await`.
    """

    __slots__ = (
        "_all_done",
        "_crashes",
        "_emit",
        "_failures",
        "_loop",
        "_max_depth",
        "_owner",
        "_queue",
        "_running",
        "_slots",
        "_spawner",
        "_stopping",
        "_tasks",
    )

    def __init__(
        self,
        emit: _Emit,
        slots: Slots,
        spawner: _Spawner,
        owner: int,
        queue: collections.deque[_Queued],
        failures: list[EventHandlingFailure],
        max_depth: int,
    ) -> None:
        self._emit = emit
        self._slots = slots
        self._spawner = spawner
        self._queue = queue
        self._max_depth = max_depth
        self._failures = failures
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._crashes: list[BaseException] = []
        self._owner = owner
        self._running = 0  # worker tasks not finished yet
        self._all_done: asyncio.Future[None] | None = None  # set when they all are
        self._stopping = False  # set when this run cancels its own workers

    async def run(self) -> None:
        # Workers are started from this context, so they inherit the mark too.
        token = _holding.set(_holding.get() | {self._owner})
        try:
            await self._run()
        finally:
            self._spawner.drop(self)
            _holding.reset(token)

    async def _run(self) -> None:
        try:
            await self._slots.acquire()
            try:
                first = self._queue.popleft()
                self._fill()
                await self._work(first)
            finally:
                self._slots.release()
            # The queue is empty: nothing is left for the spawner to start.
            self._spawner.drop(self)
            # Count running workers, not tasks: a worker that has just finished is
            # still in `_tasks` until its done-callback runs, and would never wake us.
            # After a crash, stop at once rather than wait for the other workers.
            if self._running and not self._crashes:
                self._all_done = self._loop.create_future()
                await self._all_done
        except BaseException:
            # Cancelled (or worse): no task may outlive this call.
            await self._stop_workers()
            raise
        if self._crashes:
            await self._stop_workers()  # started before the crash emptied the queue
            raise self._crashes[0]

    async def _stop_workers(self) -> None:
        self._stopping = True
        self._queue.clear()
        self._spawner.drop(self)
        pending = tuple(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _work(self, item: _Queued) -> None:
        queue, emit = self._queue, self._emit
        while True:
            event, chain = item
            outcome = await emit(event)
            if outcome.failures:
                self._failures.extend(outcome.failures)
            if outcome.follow_ups:
                _follow(queue, event, chain, outcome.follow_ups, self._max_depth, self._failures)
            if not queue:
                return
            item = queue.popleft()
            self._fill()

    async def _worker(self, item: _Queued) -> None:
        try:
            await self._work(item)
        except asyncio.CancelledError as error:
            if self._stopping:
                raise
            # Raised by a handler itself, not a cancellation of this run: report it
            # like the caller would, instead of losing it with the task.
            self._crash(error)
        except Exception as error:  # noqa: BLE001 - handler errors never get here; re-raised in run()
            self._crash(error)
        finally:
            self._slots.release()
            self._running -= 1
            if not self._running and self._all_done is not None and not self._all_done.done():
                self._all_done.set_result(None)

    def _crash(self, error: BaseException) -> None:
        self._crashes.append(error)
        self._queue.clear()  # start no more work: the run is failing
        if self._all_done is not None and not self._all_done.done():
            self._all_done.set_result(None)  # wake the caller, which stops the rest

    def _fill(self) -> None:
        # The spawner starts workers when the loop gets control, that is once a
        # worker waits for something.
        if self._queue:
            self._spawner.want(self)

    def spawn(self) -> None:
        """Start workers for the pending events, as many as there are free slots."""
        if self._stopping:
            return  # a worker that swallowed its cancellation may still queue work
        while self._queue and self._slots.try_acquire():
            self._running += 1
            task = self._loop.create_task(self._worker(self._queue.popleft()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
