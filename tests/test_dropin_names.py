"""python-cqrs names and arguments (issue 10, drop-in item 4), run for real.

`cqrs.events.bootstrap.setup_mediator`, the python-cqrs parameters of the request
`setup_*` functions, `cqrs.message_brokers.devnull.MESSAGE_BUS`, and the dispatchers
python-cqrs code builds itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

import di
import pytest

import cqrs
from cqrs.dispatcher import (
    RequestDispatcher,
    RequestDispatchResult,
    StreamingRequestDispatcher,
)
from cqrs.dispatcher.event import EventDispatcher
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import RequestHandlerDoesNotExist
from cqrs.message_brokers import devnull
from cqrs.message_brokers.protocol import Message
from cqrs.middlewares.base import MiddlewareChain
from cqrs.requests import bootstrap

SEEN: list[str] = []

_MsgT = TypeVar("_MsgT")
_ResT = TypeVar("_ResT")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    SEEN.clear()
    devnull.MESSAGE_BUS.clear()
    yield
    SEEN.clear()
    devnull.MESSAGE_BUS.clear()


# --- the model ----------------------------------------------------------------------


class Greeting(cqrs.Response):
    text: str


class Greet(cqrs.Request[Greeting]):
    name: str


class Count(cqrs.Request[Greeting]):
    names: list[str]


class Greeted(cqrs.DomainEvent, frozen=True):
    name: str


class Thanked(cqrs.DomainEvent, frozen=True):
    name: str


class GreetedOut(cqrs.NotificationEvent[dict[str, str]], frozen=True):
    pass


class GreetHandler(cqrs.RequestHandler[Greet, Greeting]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Greet) -> Greeting:
        await asyncio.sleep(0)  # lets concurrent dispatches interleave
        self._events.append(Greeted(name=request.name))
        self._events.append(GreetedOut(event_name="greeted", payload={"name": request.name}))
        return Greeting(text=f"hello {request.name}")


class CountHandler(cqrs.StreamingRequestHandler[Count, Greeting]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Count) -> AsyncIterator[Greeting]:
        for name in request.names:
            self._events.append(Greeted(name=name))
            yield Greeting(text=name)
        self._events.append(Greeted(name="after the last item"))


class GreetedHandler(cqrs.EventHandler[Greeted]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, event: Greeted) -> None:
        SEEN.append(f"greeted {event.name}")
        self._events.append(Thanked(name=event.name))


class ThankedHandler(cqrs.EventHandler[Thanked]):
    async def handle(self, event: Thanked) -> None:
        SEEN.append(f"thanked {event.name}")


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Greet, GreetHandler)


def streams(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Count, CountHandler)


def domain_events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Greeted, GreetedHandler)
    mapper.bind(Thanked, ThankedHandler)


def container() -> cqrs.DIContainer:
    return cqrs.DIContainer(di.Container())


class Tag:
    async def __call__(
        self, request: _MsgT, handle: Callable[[_MsgT], Awaitable[_ResT]], /
    ) -> _ResT:
        SEEN.append(f"middleware {type(request).__name__}")
        return await handle(request)


def recording_chain() -> MiddlewareChain:
    return MiddlewareChain([Tag()])


# --- cqrs.events.bootstrap.setup_mediator -------------------------------------------


async def test_events_setup_mediator_runs_the_handlers_and_follow_ups() -> None:
    mediator = events_bootstrap.setup_mediator(container(), [], domain_events)

    await mediator.send(Greeted(name="ann"))

    assert isinstance(mediator, cqrs.EventMediator)
    assert SEEN == ["greeted ann", "thanked ann"]


def test_events_setup_mediator_takes_python_cqrs_keywords() -> None:
    mediator = events_bootstrap.setup_mediator(
        container=container(), middlewares=[], events_mapper=domain_events
    )

    assert list(mediator.event_map[Greeted]) == [GreetedHandler]


def test_events_setup_mediator_without_a_mapper_has_an_empty_map() -> None:
    mediator = events_bootstrap.setup_mediator(container(), [])

    assert dict(mediator.event_map) == {}


# --- cqrs.requests.bootstrap.setup_mediator / setup_streaming_mediator ----------------


async def test_setup_mediator_takes_the_mappers_positionally() -> None:
    resolver = container()
    emitter = bootstrap.setup_event_emitter(resolver, domain_events)

    mediator = bootstrap.setup_mediator(emitter, resolver, [], commands, None)

    assert (await mediator.send(Greet(name="bo"))).text == "hello bo"
    assert SEEN == ["greeted bo", "thanked bo"]


async def test_setup_mediator_takes_event_map() -> None:
    resolver = container()
    emitter = bootstrap.setup_event_emitter(resolver, domain_events)
    event_map = cqrs.EventMap()
    domain_events(event_map)

    mediator = bootstrap.setup_mediator(
        event_emitter=emitter,
        container=resolver,
        middlewares=[],
        commands_mapper=commands,
        queries_mapper=None,
        event_map=event_map,
        max_concurrent_event_handlers=2,
        concurrent_event_handle_enable=False,
    )

    assert (await mediator.send(Greet(name="cy"))).text == "hello cy"
    assert SEEN == ["greeted cy", "thanked cy"]


async def test_setup_streaming_mediator_takes_domain_events_mapper() -> None:
    resolver = container()
    emitter = bootstrap.setup_event_emitter(resolver, domain_events)

    mediator = bootstrap.setup_streaming_mediator(
        emitter, resolver, [], streams, None, domain_events_mapper=domain_events
    )
    texts = [item.text async for item in mediator.stream(Count(names=["a"]))]

    assert texts == ["a"]
    last = "after the last item"
    assert ["greeted a", "thanked a", f"greeted {last}", f"thanked {last}"] == SEEN


async def test_setup_streaming_mediator_takes_the_mappers_positionally() -> None:
    resolver = container()
    emitter = bootstrap.setup_event_emitter(resolver)

    mediator = bootstrap.setup_streaming_mediator(emitter, resolver, [], None, streams)

    assert [item.text async for item in mediator.stream(Count(names=["x", "y"]))] == ["x", "y"]


# --- MESSAGE_BUS ----------------------------------------------------------------------


async def test_devnull_broker_appends_each_message_to_message_bus(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = devnull.DevnullMessageBroker()
    first = Message(message_name="A", message_id=uuid.uuid4(), topic="t", payload={})
    second = Message(message_name="B", message_id=uuid.uuid4(), topic="t", payload={})

    with caplog.at_level(logging.DEBUG, logger="cqrs"):
        await broker.send_message(first)
        await broker.send_message(second)

    assert [first, second] == devnull.MESSAGE_BUS
    assert sum("DevnullMessageBroker dropped" in r.getMessage() for r in caplog.records) == 2


async def test_bootstrap_without_a_broker_records_notification_events_in_message_bus() -> None:
    mediator = bootstrap.bootstrap(di.Container(), commands_mapper=commands)

    await mediator.send(Greet(name="di"))

    assert [m.payload["payload"] for m in devnull.MESSAGE_BUS] == [{"name": "di"}]
    assert [m.message_name for m in devnull.MESSAGE_BUS] == ["GreetedOut"]


def test_message_bus_is_one_list_at_both_paths() -> None:
    from cqrs._adapters import devnull as private_devnull

    assert devnull.MESSAGE_BUS is private_devnull.MESSAGE_BUS
    assert isinstance(devnull.MESSAGE_BUS, list)


# --- the dispatchers --------------------------------------------------------------------


def test_dispatchers_are_importable_at_python_cqrs_paths() -> None:
    import cqrs.dispatcher

    assert cqrs.dispatcher.EventDispatcher is EventDispatcher
    assert EventDispatcher.__module__ == "cqrs.dispatcher"


async def test_request_dispatcher_returns_the_response_and_the_unprocessed_events() -> None:
    request_map = cqrs.RequestMap()
    commands(request_map)
    dispatcher = RequestDispatcher(request_map=request_map, container=container())

    result = await dispatcher.dispatch(Greet(name="ed"))

    assert isinstance(result, RequestDispatchResult)
    assert result.response == Greeting(text="hello ed")
    assert [type(event) for event in result.events] == [Greeted, GreetedOut]
    assert SEEN == []  # not processed: that is the event processor's job
    assert devnull.MESSAGE_BUS == []


async def test_request_dispatcher_wraps_the_handler_in_the_middleware_chain() -> None:
    request_map = cqrs.RequestMap()
    commands(request_map)
    dispatcher = RequestDispatcher(request_map, container(), recording_chain())

    await dispatcher.dispatch(Greet(name="fi"))

    assert SEEN == ["middleware Greet"]


async def test_concurrent_request_dispatches_keep_their_own_events() -> None:
    request_map = cqrs.RequestMap()
    commands(request_map)
    dispatcher = RequestDispatcher(request_map, container())

    results = await asyncio.gather(*(dispatcher.dispatch(Greet(name=n)) for n in "abc"))

    for name, result in zip("abc", results, strict=True):
        assert [getattr(event, "name", None) for event in result.events[:1]] == [name]
        assert len(result.events) == 2


async def test_request_dispatcher_raises_for_an_unbound_request() -> None:
    dispatcher = RequestDispatcher(cqrs.RequestMap(), container())

    with pytest.raises(RequestHandlerDoesNotExist):
        await dispatcher.dispatch(Greet(name="x"))


async def test_streaming_dispatcher_yields_each_item_with_its_events() -> None:
    request_map = cqrs.RequestMap()
    streams(request_map)
    dispatcher = StreamingRequestDispatcher(request_map, container())

    results = [result async for result in dispatcher.dispatch(Count(names=["a", "b"]))]

    assert [result.response.text for result in results] == ["a", "b"]
    assert [[getattr(e, "name", None) for e in result.events] for result in results] == [
        ["a"],
        ["b"],
    ]
    assert SEEN == []


async def test_streaming_dispatcher_closed_early_closes_the_stream() -> None:
    request_map = cqrs.RequestMap()
    streams(request_map)
    dispatcher = StreamingRequestDispatcher(request_map, container())

    stream = dispatcher.dispatch(Count(names=["a", "b", "c"]))
    first = await anext(stream)
    await stream.aclose()

    assert first.response.text == "a"


async def test_event_dispatcher_runs_the_handlers_and_follow_ups() -> None:
    event_map = cqrs.EventMap()
    domain_events(event_map)
    dispatcher = EventDispatcher(event_map=event_map, container=container())

    await dispatcher.dispatch(Greeted(name="gus"))

    assert SEEN == ["greeted gus", "thanked gus"]


async def test_the_message_bus_is_bounded_and_keeps_the_newest() -> None:
    broker = devnull.DevnullMessageBroker()
    limit = devnull.MESSAGE_BUS_LIMIT
    messages = [
        Message(message_name="Tick", topic="ticks", payload={"n": n}) for n in range(2 * limit)
    ]

    for message in messages:
        await broker.send_message(message)

    assert len(devnull.MESSAGE_BUS) == limit
    assert devnull.MESSAGE_BUS[0] is messages[limit]
    assert devnull.MESSAGE_BUS[-1] is messages[-1]
