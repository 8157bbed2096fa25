"""The event concurrency limit is shared by every call of one mediator."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable

import di

import cqrs


class Done(cqrs.Response):
    n: int


class Work(cqrs.Request[Done]):
    n: int


class Nested(cqrs.Request[Done]):
    n: int


class Happened(cqrs.DomainEvent, frozen=True):
    n: int


class NestedHappened(cqrs.DomainEvent, frozen=True):
    n: int


class Gate:
    """Counts handlers inside; lets them out only once `release` is set."""

    def __init__(self) -> None:
        self.inside = 0
        self.peak = 0
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def until_inside(self, count: int) -> None:
        """Wait until `count` handlers are inside, then let every other task run as far
        as it can (none may get past the limit)."""
        while self.inside < count:
            self.entered.clear()
            await self.entered.wait()
        for _ in range(20):
            await asyncio.sleep(0)

    async def visit(self) -> None:
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        self.entered.set()
        try:
            await self.release.wait()
        finally:
            self.inside -= 1


GATE = Gate()
NESTED_SEEN: list[int] = []


class WorkHandler(cqrs.RequestHandler[Work, Done]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Work) -> Done:
        self._events = [Happened(n=request.n), Happened(n=request.n + 100)]
        return Done(n=request.n)


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        await GATE.visit()


def build(limit: int) -> cqrs.RequestMediator:
    requests = cqrs.RequestMap()
    requests.bind(Work, WorkHandler)
    events = cqrs.EventMap()
    events.bind(Happened, HappenedHandler)
    return cqrs.RequestMediator(
        requests,
        cqrs.DIContainer(di.Container()),
        event_map=events,
        max_concurrent_event_handlers=limit,
    )


async def test_concurrent_sends_share_the_limit() -> None:
    global GATE  # noqa: PLW0603 - the handlers are built by the container
    GATE = Gate()
    mediator = build(limit=3)
    sends = [asyncio.create_task(mediator.send(Work(n=n))) for n in range(10)]
    await GATE.until_inside(3)
    assert GATE.inside == 3
    GATE.release.set()
    results = await asyncio.gather(*sends)
    assert [r.n for r in results] == list(range(10))
    assert GATE.peak == 3


class NestedHandler(cqrs.RequestHandler[Nested, Done]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Nested) -> Done:
        self._events = [NestedHappened(n=request.n)]
        return Done(n=request.n)


MEDIATOR: cqrs.RequestMediator | None = None


class SendsAgainHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        assert MEDIATOR is not None
        await MEDIATOR.send(Nested(n=event.n))


class NestedHappenedHandler(cqrs.EventHandler[NestedHappened]):
    async def handle(self, event: NestedHappened) -> None:
        NESTED_SEEN.append(event.n)


async def test_an_event_handler_sending_through_the_same_mediator_does_not_deadlock() -> None:
    global MEDIATOR  # noqa: PLW0603 - the handler reaches the mediator it runs under
    requests = cqrs.RequestMap()
    requests.bind(Work, WorkHandler)
    requests.bind(Nested, NestedHandler)
    events = cqrs.EventMap()
    events.bind(Happened, SendsAgainHandler)
    events.bind(NestedHappened, NestedHappenedHandler)
    MEDIATOR = cqrs.RequestMediator(
        requests,
        cqrs.DIContainer(di.Container()),
        event_map=events,
        max_concurrent_event_handlers=1,
        propagate_event_errors=True,
    )
    NESTED_SEEN.clear()
    result = await asyncio.wait_for(MEDIATOR.send(Work(n=1)), timeout=5)
    assert result.n == 1
    assert sorted(NESTED_SEEN) == [1, 101]


async def test_a_mediator_serves_several_event_loops() -> None:
    # Used from fresh loops, one after the other: nothing may bind to the first one.
    global GATE  # noqa: PLW0603 - the handlers are built by the container
    GATE = Gate()
    GATE.release.set()
    mediator = build(limit=1)

    def run_once() -> int:
        async def go() -> int:
            sends = [mediator.send(Work(n=n)) for n in range(3)]
            return len(await asyncio.gather(*sends))

        return asyncio.run(go())

    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, run_once) == 3
    assert await loop.run_in_executor(None, run_once) == 3


# --- regression: a worker finishing in the same loop turn as the caller -------------------


class Late(cqrs.DomainEvent, frozen=True):
    """Its handler waits one extra turn, so it reaches the gate after `Early`'s handler."""


class Early(cqrs.DomainEvent, frozen=True):
    pass


class TwoEvents(cqrs.Request[Done]):
    pass


class TwoEventsHandler(cqrs.RequestHandler[TwoEvents, Done]):
    @property
    def events(self) -> list[cqrs.IEvent]:
        # The caller handles the first event itself; a worker task gets the second.
        return [Late(), Early()]

    async def handle(self, request: TwoEvents) -> Done:
        return Done(n=0)


class SameTurn:
    """One gate for both handlers; `parked` is set once both wait on it."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.parked = asyncio.Event()
        self.waiting = 0

    async def wait(self) -> None:
        self.waiting += 1
        if self.waiting == 2:
            self.parked.set()
        await self.gate.wait()


SAME_TURN = SameTurn()


class LateHandler(cqrs.EventHandler[Late]):
    async def handle(self, event: Late) -> None:
        await asyncio.sleep(0)  # yield once, so the worker queues on the gate first
        await SAME_TURN.wait()


class EarlyHandler(cqrs.EventHandler[Early]):
    async def handle(self, event: Early) -> None:
        await SAME_TURN.wait()


async def test_the_caller_does_not_wait_for_a_worker_that_finished_in_the_same_turn(
    mediator_for: Callable[..., cqrs.RequestMediator],
) -> None:
    # The gate wakes the worker first and then the caller, in one loop turn: the
    # worker is done, but its task leaves the processor's task set only on the next
    # turn. The caller must count running workers, or it waits for nothing, forever.
    global SAME_TURN  # noqa: PLW0603 - handlers are built by the container, not by the test
    SAME_TURN = SameTurn()
    mediator = mediator_for(
        TwoEvents, TwoEventsHandler, {Late: LateHandler, Early: EarlyHandler}, limit=2
    )
    before = asyncio.all_tasks()

    sending = asyncio.ensure_future(mediator.send(TwoEvents()))
    await asyncio.wait_for(SAME_TURN.parked.wait(), timeout=5)
    SAME_TURN.gate.set()

    assert await asyncio.wait_for(sending, timeout=5) == Done(n=0)  # a guard, not a clock
    assert asyncio.all_tasks() == before


# --- workers start only when a handler waits ---------------------------------------------


class Quick(cqrs.DomainEvent, frozen=True):
    n: int


class Quicks(cqrs.Request[Done]):
    pass


class QuicksHandler(cqrs.RequestHandler[Quicks, Done]):
    @property
    def events(self) -> list[cqrs.IEvent]:
        return [Quick(n=n) for n in range(5)]

    async def handle(self, request: Quicks) -> Done:
        return Done(n=5)


TASKS_SEEN: list[asyncio.Task[object] | None] = []


class QuickHandler(cqrs.EventHandler[Quick]):
    async def handle(self, event: Quick) -> None:
        TASKS_SEEN.append(asyncio.current_task())


async def test_handlers_that_never_wait_run_in_the_calling_task(
    mediator_for: Callable[..., cqrs.RequestMediator],
) -> None:
    TASKS_SEEN.clear()
    mediator = mediator_for(Quicks, QuicksHandler, {Quick: QuickHandler}, limit=4)
    before = asyncio.all_tasks()

    assert await mediator.send(Quicks()) == Done(n=5)

    # Nothing waited, so nothing could run alongside: no worker task was started.
    caller = asyncio.current_task()
    assert len(TASKS_SEEN) == len(QuicksHandler().events)
    assert set(TASKS_SEEN) == {caller}
    assert asyncio.all_tasks() == before


async def test_sends_that_never_wait_leave_nothing_behind_in_the_loop(
    mediator_for: Callable[..., cqrs.RequestMediator],
) -> None:
    mediator = mediator_for(Quicks, QuicksHandler, {Quick: QuickHandler}, limit=4)

    # None of these sends yields to the loop, so nothing scheduled for them has run.
    for _ in range(200):
        await mediator.send(Quicks())
    gc.collect()

    runs = [obj for obj in gc.get_objects() if type(obj).__name__ == "_ParallelRun"]
    assert runs == []


# --- one event per call: handled in the caller, without a parallel run ------------------


class One(cqrs.Request[Done]):
    n: int


class OneHandler(cqrs.RequestHandler[One, Done]):
    def __init__(self) -> None:
        self.events: list[cqrs.IEvent] = []

    async def handle(self, request: One) -> Done:
        self.events = [Happened(n=request.n)]
        return Done(n=request.n)


class FollowedUp(cqrs.DomainEvent, frozen=True):
    n: int


FOLLOWED: list[int] = []


class RaisesFollowUps(cqrs.EventHandler[Happened]):
    def __init__(self) -> None:
        self.events: list[cqrs.IEvent] = []

    async def handle(self, event: Happened) -> None:
        self.events = [FollowedUp(n=event.n), FollowedUp(n=event.n + 1)]


class FollowedUpHandler(cqrs.EventHandler[FollowedUp]):
    async def handle(self, event: FollowedUp) -> None:
        await GATE.visit()
        FOLLOWED.append(event.n)


def build_one(limit: int, happened: type[cqrs.EventHandler[Happened]]) -> cqrs.RequestMediator:
    requests = cqrs.RequestMap()
    requests.bind(One, OneHandler)
    requests.bind(Nested, NestedHandler)
    events = cqrs.EventMap()
    events.bind(Happened, happened)
    events.bind(NestedHappened, NestedHappenedHandler)
    events.bind(FollowedUp, FollowedUpHandler)
    return cqrs.RequestMediator(
        requests,
        cqrs.DIContainer(di.Container()),
        event_map=events,
        max_concurrent_event_handlers=limit,
        propagate_event_errors=True,
    )


async def test_concurrent_sends_of_one_event_each_share_the_limit() -> None:
    global GATE  # noqa: PLW0603 - the handlers are built by the container
    GATE = Gate()
    mediator = build_one(2, HappenedHandler)
    sends = [asyncio.create_task(mediator.send(One(n=n))) for n in range(8)]
    await GATE.until_inside(2)
    assert GATE.inside == 2
    GATE.release.set()
    assert [r.n for r in await asyncio.gather(*sends)] == list(range(8))
    assert GATE.peak == 2


async def test_one_event_whose_handler_sends_again_does_not_deadlock_at_limit_1() -> None:
    global MEDIATOR  # noqa: PLW0603 - the handler reaches the mediator it runs under
    MEDIATOR = build_one(1, SendsAgainHandler)
    NESTED_SEEN.clear()
    result = await asyncio.wait_for(MEDIATOR.send(One(n=7)), timeout=5)
    assert (result.n, NESTED_SEEN) == (7, [7])


async def test_the_follow_ups_of_one_event_run_in_parallel_under_the_limit() -> None:
    global GATE  # noqa: PLW0603 - as above
    GATE = Gate()
    FOLLOWED.clear()
    mediator = build_one(2, RaisesFollowUps)
    send = asyncio.create_task(mediator.send(One(n=10)))
    await GATE.until_inside(2)  # both follow-ups at once: a parallel run, two slots
    GATE.release.set()
    assert (await send).n == 10
    assert sorted(FOLLOWED) == [10, 11]
    assert GATE.peak == 2
