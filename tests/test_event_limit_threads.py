"""One mediator shared by threads, each running its own event loop: the limit holds, nothing hangs.

A slot released on one loop is handed to a waiter of another loop on that loop
(`call_soon_threadsafe`); before, the waiter was resolved from the wrong thread and
its loop never woke.
"""

from __future__ import annotations

import asyncio
import threading

import di
import pytest

import cqrs
from cqrs.requests import bootstrap

THREADS = 3
SENDS_PER_THREAD = 40
BOUND = 30.0  # seconds for the whole test: a hang fails it instead of blocking CI


class Done(cqrs.Response):
    n: int


class Work(cqrs.Request[Done]):
    n: int


class Happened(cqrs.DomainEvent, frozen=True):
    n: int


class Inside:
    """Counts handlers running at once, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.handled = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1
            self.handled += 1


INSIDE = Inside()


class WorkHandler(cqrs.RequestHandler[Work, Done]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Work) -> Done:
        self._events.extend(Happened(n=request.n * 10 + k) for k in range(3))
        return Done(n=request.n)


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        INSIDE.enter()
        try:
            # Real waiting, so that the threads' handlers overlap and compete for slots.
            await asyncio.sleep(0.001)
        finally:
            INSIDE.leave()


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_threads_with_their_own_loops_share_the_limit_and_finish(limit: int) -> None:
    global INSIDE  # noqa: PLW0603 - reset per case
    INSIDE = Inside()
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda mapper: mapper.bind(Work, WorkHandler),
        domain_events_mapper=lambda mapper: mapper.bind(Happened, HappenedHandler),
        max_concurrent_event_handlers=limit,
    )
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    async def sends(offset: int) -> None:
        results = await asyncio.gather(
            *(mediator.send(Work(n=offset + n)) for n in range(SENDS_PER_THREAD))
        )
        assert [done.n for done in results] == [offset + n for n in range(SENDS_PER_THREAD)]

    def thread(offset: int) -> None:
        try:
            start.wait(timeout=BOUND)
            asyncio.run(asyncio.wait_for(sends(offset), BOUND))
        except BaseException as error:  # reported by the test's thread
            errors.append(error)

    threads = [threading.Thread(target=thread, args=(1000 * t,)) for t in range(THREADS)]
    for started in threads:
        started.start()
    for started in threads:
        started.join(BOUND + 5)
    assert not any(t.is_alive() for t in threads), "a thread hung waiting for an event slot"
    assert errors == []
    assert INSIDE.handled == THREADS * SENDS_PER_THREAD * 3
    assert INSIDE.peak <= limit
    assert INSIDE.peak == limit  # and the limit was reached: the threads did compete
