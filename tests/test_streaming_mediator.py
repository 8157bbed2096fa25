"""`StreamingRequestMediator.stream` (SPEC 2.4, 2.9): items, per-item events, early stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, cast

import di
import pytest

import cqrs
from cqrs.exceptions import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs.requests import bootstrap

GUARD = 5.0  # seconds; only a guard against a hang, never used to coordinate


class Item(cqrs.Response):
    number: int


class Count(cqrs.Request[Item]):
    upto: int


class Unbound(cqrs.Request[Item]):
    pass


class Counted(cqrs.DomainEvent, frozen=True):
    label: str


class Journal:
    """What handlers did in one test; handlers are built by the container."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.cleared = 0
        self.inside = asyncio.Event()
        self.finally_ran = False
        self.error: Exception | None = None
        self.event_error: Exception | None = None
        self.events_inside = 0
        self.all_events_inside = asyncio.Event()
        self.event_finally = 0


JOURNAL: Journal


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - handlers are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class EventRaisingStream(cqrs.StreamingRequestHandler[Count, Item]):
    """Raises event `before i` before yielding item i, and `after` once done."""

    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        JOURNAL.cleared += 1
        self._events.clear()

    async def handle(self, request: Count) -> AsyncIterator[Item]:
        for number in range(request.upto):
            self._events.append(Counted(label=f"before {number}"))
            yield Item(number=number)
        self._events.append(Counted(label="after"))


class CountedHandler(cqrs.EventHandler[Counted]):
    async def handle(self, event: Counted) -> None:
        JOURNAL.log.append(f"event handled {event.label}")
        if JOURNAL.event_error is not None:
            raise JOURNAL.event_error


class BlockingStream(cqrs.StreamingRequestHandler[Count, Item]):
    """Yields `upto` items, then blocks forever; records that its `finally` ran."""

    def clear_events(self) -> None:
        pass

    async def handle(self, request: Count) -> AsyncIterator[Item]:
        try:
            for number in range(request.upto):
                yield Item(number=number)
            JOURNAL.inside.set()
            await asyncio.Event().wait()
            yield Item(number=-1)  # pragma: no cover - never reached
        finally:
            JOURNAL.finally_ran = True


class FailingStream(cqrs.StreamingRequestHandler[Count, Item]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Count) -> AsyncIterator[Item]:
        for number in range(request.upto):
            yield Item(number=number)
        assert JOURNAL.error is not None
        raise JOURNAL.error


class PlainHandler(cqrs.RequestHandler[Count, Item]):
    async def handle(self, request: Count) -> Item:
        return Item(number=request.upto)


def make_mediator(
    handler: type[Any] = EventRaisingStream, **kwargs: Any
) -> cqrs.StreamingRequestMediator:
    request_map = cqrs.RequestMap()
    request_map.bind(Count, handler)
    event_map = cqrs.EventMap()
    event_map.bind(Counted, CountedHandler)
    return cqrs.StreamingRequestMediator(
        request_map, cqrs.DIContainer(di.Container()), event_map=event_map, **kwargs
    )


async def collect(stream: AsyncIterator[Item]) -> list[Item]:
    return [item async for item in stream]


async def drain_into(stream: AsyncIterator[Item], got: list[Item]) -> None:
    """Append each item as it arrives, so the items before an error are kept."""
    async for item in stream:
        got.append(item)  # noqa: PERF401 - a comprehension would lose them on error


# --- items ----------------------------------------------------------------------------


async def test_stream_is_called_without_await_and_yields_items_in_order() -> None:
    mediator = make_mediator()

    stream = mediator.stream(Count(upto=3))

    assert isinstance(stream, AsyncIterator)
    items = await collect(stream)
    assert items == [Item(number=0), Item(number=1), Item(number=2)]
    assert all(type(item) is Item for item in items)


async def test_bootstrap_streaming_streams_the_items() -> None:
    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Count, EventRaisingStream)

    mediator = bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=queries)

    assert await collect(mediator.stream(Count(upto=2))) == [Item(number=0), Item(number=1)]


# --- events per item ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("concurrent", "limit"), [(False, 1), (True, 1), (True, 10)], ids=["sequential", "p1", "p10"]
)
async def test_events_raised_before_a_yield_are_processed_before_the_consumer_gets_the_item(
    journal: Journal, concurrent: bool, limit: int
) -> None:
    mediator = make_mediator(
        concurrent_event_handle_enable=concurrent, max_concurrent_event_handlers=limit
    )

    async for item in mediator.stream(Count(upto=3)):
        journal.log.append(f"consumer got {item.number}")

    assert journal.log == [
        "event handled before 0",
        "consumer got 0",
        "event handled before 1",
        "consumer got 1",
        "event handled before 2",
        "consumer got 2",
        "event handled after",
    ]


async def test_clear_events_is_called_so_each_event_is_handled_once(journal: Journal) -> None:
    mediator = make_mediator()

    await collect(mediator.stream(Count(upto=3)))

    assert journal.cleared == 4  # after each of the 3 items, and for the trailing event
    handled = [entry for entry in journal.log if entry.startswith("event handled")]
    assert handled == [
        "event handled before 0",
        "event handled before 1",
        "event handled before 2",
        "event handled after",
    ]


async def test_events_raised_after_the_last_item_are_still_processed(journal: Journal) -> None:
    mediator = make_mediator()

    items = await collect(mediator.stream(Count(upto=1)))
    journal.log.append("stream exhausted")

    assert items == [Item(number=0)]
    assert journal.log[-2:] == ["event handled after", "stream exhausted"]


async def test_event_handler_failure_is_logged_and_the_stream_goes_on(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    journal.event_error = RuntimeError("event handler failed")
    mediator = make_mediator()

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        items = await collect(mediator.stream(Count(upto=2)))

    assert items == [Item(number=0), Item(number=1)]
    errors = [r for r in caplog.records if r.name == "cqrs" and r.levelno == logging.ERROR]
    assert len(errors) == 3
    assert all(r.exc_info is not None and r.exc_info[1] is journal.event_error for r in errors)


async def test_event_handler_failure_propagates_to_the_consumer_when_asked(
    journal: Journal,
) -> None:
    journal.event_error = RuntimeError("event handler failed")
    mediator = make_mediator(propagate_event_errors=True)
    got: list[Item] = []

    with pytest.raises(RuntimeError) as caught:
        await drain_into(mediator.stream(Count(upto=2)), got)

    assert caught.value is journal.event_error
    assert got == []  # the first item's event failed before the item was handed on


# --- bad input ------------------------------------------------------------------------


def test_unbound_request_raises_at_the_call_of_stream() -> None:
    mediator = make_mediator()

    with pytest.raises(RequestHandlerDoesNotExist, match="Unbound"):
        mediator.stream(Unbound())


def test_plain_request_handler_through_stream_raises_type_error() -> None:
    mediator = make_mediator(PlainHandler)

    with pytest.raises(RequestHandlerTypeError) as caught:
        mediator.stream(Count(upto=1))

    message = str(caught.value)
    assert "PlainHandler" in message
    assert "send()" in message


# --- early stop -----------------------------------------------------------------------


async def test_break_then_aclose_closes_the_handlers_generator_at_once(
    journal: Journal,
) -> None:
    mediator = make_mediator(BlockingStream)
    stream = cast("AsyncGenerator[Item, None]", mediator.stream(Count(upto=3)))

    async for item in stream:
        assert item == Item(number=0)
        break
    assert not journal.finally_ran
    await stream.aclose()

    assert journal.finally_ran


async def test_cancelling_the_consumer_runs_the_handlers_finally_and_leaves_no_task(
    journal: Journal,
) -> None:
    mediator = make_mediator(BlockingStream)
    got: list[Item] = []

    before = asyncio.all_tasks()
    consumer = asyncio.create_task(drain_into(mediator.stream(Count(upto=2)), got))
    await asyncio.wait_for(journal.inside.wait(), GUARD)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer

    assert got == [Item(number=0), Item(number=1)]
    assert journal.finally_ran
    assert asyncio.all_tasks() == before


class EventBlockingStream(cqrs.StreamingRequestHandler[Count, Item]):
    """Raises `upto` events before its first item; their handlers block forever."""

    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: Count) -> AsyncIterator[Item]:
        try:
            self._events.extend(Counted(label=str(n)) for n in range(request.upto))
            yield Item(number=0)
        finally:
            JOURNAL.finally_ran = True


class BlockingCountedHandler(cqrs.EventHandler[Counted]):
    async def handle(self, event: Counted) -> None:
        JOURNAL.events_inside += 1
        if JOURNAL.events_inside == 3:
            JOURNAL.all_events_inside.set()
        try:
            await asyncio.Event().wait()
        finally:
            JOURNAL.event_finally += 1


async def test_cancelling_during_parallel_event_processing_leaves_no_task(
    journal: Journal,
) -> None:
    request_map = cqrs.RequestMap()
    request_map.bind(Count, EventBlockingStream)
    event_map = cqrs.EventMap()
    event_map.bind(Counted, BlockingCountedHandler)
    mediator = cqrs.StreamingRequestMediator(
        request_map,
        cqrs.DIContainer(di.Container()),
        event_map=event_map,
        max_concurrent_event_handlers=3,
    )

    before = asyncio.all_tasks()
    consumer = asyncio.create_task(collect(mediator.stream(Count(upto=3))))
    await asyncio.wait_for(journal.all_events_inside.wait(), GUARD)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer

    assert journal.event_finally == 3
    assert journal.finally_ran
    assert asyncio.all_tasks() == before


async def test_handler_raising_mid_stream_propagates_after_earlier_items(
    journal: Journal,
) -> None:
    boom = ValueError("stream failed")
    journal.error = boom
    mediator = make_mediator(FailingStream)
    got: list[Item] = []

    with pytest.raises(ValueError) as caught:
        await drain_into(mediator.stream(Count(upto=2)), got)

    assert caught.value is boom
    assert got == [Item(number=0), Item(number=1)]
