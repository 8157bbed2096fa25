"""A long stream keeps nothing per item: no events, results or tasks pile up."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator

import di

import cqrs
from cqrs.requests import bootstrap


class Tick(cqrs.Response):
    n: int


class Count(cqrs.Request[Tick]):
    items: int


class Ticked(cqrs.DomainEvent, frozen=True):
    n: int


class CountHandler(cqrs.StreamingRequestHandler[Count, Tick]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Count) -> AsyncIterator[Tick]:
        for n in range(request.items):
            self._events.append(Ticked(n=n))
            yield Tick(n=n)


HANDLED = {"count": 0}


class TickedHandler(cqrs.EventHandler[Ticked]):
    async def handle(self, event: Ticked) -> None:
        HANDLED["count"] += 1


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Count, CountHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Ticked, TickedHandler)


async def test_streaming_many_items_accumulates_nothing_per_item() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        max_concurrent_event_handlers=4,
    )
    items, checkpoint = 6_000, 1_000
    tasks_before = len(asyncio.all_tasks())
    HANDLED["count"] = 0
    tracemalloc.start()
    try:
        at_checkpoint = 0
        task_counts: set[int] = set()
        async for tick in mediator.stream(Count(items=items)):
            if tick.n == checkpoint:
                gc.collect()
                at_checkpoint = tracemalloc.get_traced_memory()[0]
            if tick.n % 500 == 0:
                task_counts.add(len(asyncio.all_tasks()))
        gc.collect()
        at_end = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # Every event was handled, and the five thousand items after the checkpoint left
    # less than 4 bytes each behind (allocator noise, nothing kept per item).
    assert HANDLED["count"] == items
    growth = at_end - at_checkpoint
    assert growth < 4 * (items - checkpoint), growth
    assert task_counts == {tasks_before}
    assert len(asyncio.all_tasks()) == tasks_before
