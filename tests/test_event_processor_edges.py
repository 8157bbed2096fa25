"""Parallel event processing on its failure paths: crashes, stray cancellations, and
calls that never yield to the event loop (all found in review)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence

import di
import pytest

import cqrs
from cqrs.events.event_emitter import EmitOutcome


class Done(cqrs.Response):
    n: int


class Work(cqrs.Request[Done]):
    n: int = 0


class First(cqrs.DomainEvent, frozen=True):
    pass


class Second(cqrs.DomainEvent, frozen=True):
    pass


class Broken(cqrs.DomainEvent, frozen=True):
    pass


class Slow(cqrs.DomainEvent, frozen=True):
    pass


class Journal:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.release_first = asyncio.Event()
        self.slow_started = asyncio.Event()


JOURNAL = Journal()


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - handlers are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class WorkHandler(cqrs.RequestHandler[Work, Done]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return [First(), Second()]

    async def handle(self, request: Work) -> Done:
        return Done(n=request.n)


class FirstHandler(cqrs.EventHandler[First]):
    async def handle(self, event: First) -> None:
        await JOURNAL.release_first.wait()  # the caller waits here: workers can start


class SecondHandler(cqrs.EventHandler[Second]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return [Broken(), Slow()]

    async def handle(self, event: Second) -> None:
        pass


class SlowHandler(cqrs.EventHandler[Slow]):
    async def handle(self, event: Slow) -> None:
        JOURNAL.log.append("slow started")
        JOURNAL.slow_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            JOURNAL.log.append("slow cancelled")
            raise


class BrokenEmitter(cqrs.EventEmitter):
    """A custom emitter with a bug: it fails on one event type, after a loop turn."""

    async def emit_settled(self, event: cqrs.IEvent) -> EmitOutcome:
        if isinstance(event, Broken):
            await JOURNAL.slow_started.wait()  # a worker for `Slow` is running by now
            msg = "emitter bug"
            raise RuntimeError(msg)
        return await super().emit_settled(event)


def event_map() -> cqrs.EventMap:
    events = cqrs.EventMap()
    events.bind(First, FirstHandler)
    events.bind(Second, SecondHandler)
    events.bind(Slow, SlowHandler)
    return events


async def test_a_crashed_worker_stops_the_run_and_leaves_no_task(journal: Journal) -> None:
    requests = cqrs.RequestMap()
    requests.bind(Work, WorkHandler)
    events = event_map()
    container = cqrs.DIContainer(di.Container())
    mediator = cqrs.RequestMediator(
        requests,
        container,
        event_emitter=BrokenEmitter(events, container),
        event_map=events,
        max_concurrent_event_handlers=3,
    )
    before = asyncio.all_tasks()

    sending = asyncio.ensure_future(mediator.send(Work()))
    await asyncio.wait_for(journal.slow_started.wait(), timeout=5)  # a guard, not a clock
    journal.release_first.set()

    with pytest.raises(RuntimeError, match="emitter bug"):
        await asyncio.wait_for(sending, timeout=5)
    # The worker still running when the crash was reported was cancelled and awaited.
    assert journal.log == ["slow started", "slow cancelled"]
    assert asyncio.all_tasks() == before


class Raising(cqrs.DomainEvent, frozen=True):
    n: int


class RaisingWork(cqrs.Request[Done]):
    pass


class RaisingWorkHandler(cqrs.RequestHandler[RaisingWork, Done]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return [Raising(n=1), Raising(n=2)]

    async def handle(self, request: RaisingWork) -> Done:
        return Done(n=0)


class RaisingHandler(cqrs.EventHandler[Raising]):
    fail_on = 0

    async def handle(self, event: Raising) -> None:
        await asyncio.sleep(0)  # yield, so the second event goes to a worker task
        if event.n == RaisingHandler.fail_on:
            cancelled = asyncio.get_running_loop().create_future()
            cancelled.cancel()
            await cancelled  # a CancelledError that cancels nobody


@pytest.mark.parametrize("where", [1, 2], ids=["in-the-caller", "in-a-worker"])
async def test_a_cancelled_error_raised_by_a_handler_is_not_lost(
    where: int, mediator_for: Callable[..., cqrs.RequestMediator]
) -> None:
    RaisingHandler.fail_on = where
    mediator = mediator_for(RaisingWork, RaisingWorkHandler, {Raising: RaisingHandler}, limit=4)
    before = asyncio.all_tasks()

    # Wherever the handler ran, `send` ends the same way.
    with pytest.raises(asyncio.CancelledError):
        await mediator.send(RaisingWork())
    assert asyncio.all_tasks() == before


class Quick(cqrs.DomainEvent, frozen=True):
    pass


class QuickWork(cqrs.Request[Done]):
    pass


class QuickWorkHandler(cqrs.RequestHandler[QuickWork, Done]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return [Quick(), Quick()]

    async def handle(self, request: QuickWork) -> Done:
        return Done(n=0)


class QuickHandler(cqrs.EventHandler[Quick]):
    async def handle(self, event: Quick) -> None:
        pass


async def test_calls_that_never_yield_do_not_pile_callbacks_up_in_the_loop(
    mediator_for: Callable[..., cqrs.RequestMediator],
) -> None:
    mediator = mediator_for(QuickWork, QuickWorkHandler, {Quick: QuickHandler}, limit=4)
    gc.collect()
    handles_before = sum(isinstance(obj, asyncio.Handle) for obj in gc.get_objects())

    # None of these sends yields to the loop, so nothing they schedule can run yet.
    for _ in range(500):
        await mediator.send(QuickWork())
    gc.collect()

    handles_after = sum(isinstance(obj, asyncio.Handle) for obj in gc.get_objects())
    assert handles_after - handles_before <= 1  # one spawner callback, not one per send
