"""Handler mistakes the event pipeline stops with a clear error instead of looping or hiding.

- Endless follow-ups (A's handler raises B, B's raises A) stop at `max_follow_up_depth`
  with a `FollowUpDepthError` naming the chain.
- Something that is not an event in a handler's `events` is a `TypeError` naming the
  handler; the real events around it are still processed.
- Sequential mode does not take the limit's slots (documented): pinned here.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import di
import pytest

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import FollowUpDepthError, InvalidConfigurationError
from cqrs.requests import bootstrap

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup


class Ping(cqrs.DomainEvent, frozen=True):
    n: int


class Pong(cqrs.DomainEvent, frozen=True):
    n: int


class Noted(cqrs.DomainEvent, frozen=True):
    n: int


RUNS: list[str] = []


class PingHandler(cqrs.EventHandler[Ping]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, event: Ping) -> None:
        RUNS.append(f"ping {event.n}")
        self._events.append(Pong(n=event.n + 1))


class PongHandler(cqrs.EventHandler[Pong]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, event: Pong) -> None:
        RUNS.append(f"pong {event.n}")
        self._events.append(Ping(n=event.n + 1))


class NotedHandler(cqrs.EventHandler[Noted]):
    def __init__(self) -> None:
        self._events: list[Any] = []

    @property
    def events(self) -> list[Any]:
        return self._events

    async def handle(self, event: Noted) -> None:
        RUNS.append(f"noted {event.n}")
        if event.n == 0:
            self._events.extend([Noted(n=1), {"not": "an event"}])


class Go(cqrs.Request[None]):
    pass


class GoHandler(cqrs.RequestHandler[Go, None]):
    """Raises one ping (a cycle) and, optionally, junk among real events."""

    junk: list[Any] = []

    def __init__(self) -> None:
        self._events: list[Any] = []

    @property
    def events(self) -> list[Any]:
        return self._events

    async def handle(self, request: Go) -> None:
        self._events.append(Ping(n=0))


class JunkHandler(cqrs.RequestHandler[Go, None]):
    def __init__(self) -> None:
        self._events: list[Any] = []

    @property
    def events(self) -> list[Any]:
        return self._events

    async def handle(self, request: Go) -> None:
        self._events.extend([Noted(n=5), object(), Noted, Noted(n=6)])


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Ping, PingHandler)
    mapper.bind(Pong, PongHandler)
    mapper.bind(Noted, NotedHandler)


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()


def mediator(handler: type[cqrs.RequestHandler[Go, None]], **kwargs: Any) -> cqrs.RequestMediator:
    return bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda mapper: mapper.bind(Go, handler),
        domain_events_mapper=events,
        **kwargs,
    )


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cqrs" and r.levelno >= logging.ERROR]


# --- the follow-up bound ------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
async def test_a_cycle_stops_at_the_default_depth_and_is_logged_with_its_chain(
    parallel: bool, caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.wait_for(
        mediator(GoHandler, concurrent_event_handle_enable=parallel).send(Go()), 10
    )

    assert len(RUNS) == 33  # the root ping and 32 levels of follow-ups
    assert RUNS[:3] == ["ping 0", "pong 1", "ping 2"]
    [record] = errors(caplog)
    assert record.exc_info is not None
    error = record.exc_info[1]
    assert isinstance(error, FollowUpDepthError)
    text = str(error)
    assert "max_follow_up_depth=32" in text
    assert text.count("Ping -> Pong") == 17  # 33 events, then the Pong not processed
    assert "A cycle?" in text


async def test_the_depth_is_configurable_and_raised_with_propagate() -> None:
    with pytest.raises(
        FollowUpDepthError, match=r"max_follow_up_depth=3: Ping -> Pong -> Ping -> Pong"
    ):
        await mediator(GoHandler, max_follow_up_depth=3, propagate_event_errors=True).send(Go())
    assert RUNS == ["ping 0", "pong 1", "ping 2", "pong 3"]


async def test_depth_zero_processes_no_follow_up() -> None:
    with pytest.raises(FollowUpDepthError, match="max_follow_up_depth=0: Ping -> Pong"):
        await mediator(GoHandler, max_follow_up_depth=0, propagate_event_errors=True).send(Go())
    assert RUNS == ["ping 0"]


async def test_the_event_mediator_stops_a_cycle_too() -> None:
    consumer = events_bootstrap.bootstrap(
        di_container=di.Container(), events_mapper=events, max_follow_up_depth=5
    )
    with pytest.raises(FollowUpDepthError, match="Ping -> Pong -> Ping -> Pong -> Ping -> Pong"):
        await asyncio.wait_for(consumer.send(Ping(n=0)), 10)
    assert len(RUNS) == 6


async def test_a_streaming_mediator_stops_a_cycle_too(caplog: pytest.LogCaptureFixture) -> None:
    class Stream(cqrs.Request[int]):
        pass

    class StreamHandler(cqrs.StreamingRequestHandler[Stream, int]):
        def __init__(self) -> None:
            self._events: list[cqrs.IEvent] = []

        @property
        def events(self) -> list[cqrs.IEvent]:
            return self._events

        def clear_events(self) -> None:
            self._events.clear()

        async def handle(self, request: Stream) -> Any:
            self._events.append(Ping(n=0))
            yield 1

    streaming = bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        queries_mapper=lambda mapper: mapper.bind(Stream, StreamHandler),
        domain_events_mapper=events,
        max_follow_up_depth=2,
    )
    assert [item async for item in streaming.stream(Stream())] == [1]
    assert RUNS == ["ping 0", "pong 1", "ping 2"]
    assert isinstance(errors(caplog)[0].exc_info[1], FollowUpDepthError)  # type: ignore[index]  # exc_info is set


@pytest.mark.parametrize("depth", [-1, True, "3", 2.0])
def test_an_invalid_depth_is_refused_at_bootstrap(depth: Any) -> None:
    with pytest.raises(InvalidConfigurationError, match="max_follow_up_depth must be an int >= 0"):
        mediator(GoHandler, max_follow_up_depth=depth)


# --- non-events -----------------------------------------------------------------------------


async def test_non_events_from_a_request_handler_are_reported_and_the_events_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await mediator(JunkHandler).send(Go())

    assert sorted(RUNS) == ["noted 5", "noted 6"]
    messages = [str(record.exc_info[1]) for record in errors(caplog) if record.exc_info]
    assert len(messages) == 2
    assert "JunkHandler put <object object" in messages[0]
    assert "not an event" in messages[0]
    assert "JunkHandler put <class" in messages[1]
    assert "an event class, not an instance" in messages[1]


async def test_non_events_are_raised_with_propagate() -> None:
    with pytest.raises(ExceptionGroup) as raised:
        await mediator(JunkHandler, propagate_event_errors=True).send(Go())
    assert [type(error) for error in raised.value.exceptions] == [TypeError, TypeError]
    assert sorted(RUNS) == ["noted 5", "noted 6"]


async def test_a_non_event_follow_up_names_the_event_handler() -> None:
    consumer = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)
    with pytest.raises(TypeError, match=r"NotedHandler put \{'not': 'an event'\} in its events"):
        await consumer.send(Noted(n=0))
    assert RUNS == ["noted 0", "noted 1"]


# --- sequential mode and the limit ------------------------------------------------------------


async def test_sequential_mode_runs_concurrent_calls_side_by_side_whatever_the_limit() -> None:
    inside = 0
    peak = 0
    all_in = asyncio.Event()

    class Slow(cqrs.DomainEvent, frozen=True):
        pass

    class SlowHandler(cqrs.EventHandler[Slow]):
        async def handle(self, event: Slow) -> None:
            nonlocal inside, peak
            inside += 1
            peak = max(peak, inside)
            if peak == 5:
                all_in.set()
            await asyncio.wait_for(all_in.wait(), 5)
            inside -= 1

    class Raise(cqrs.RequestHandler[Go, None]):
        def __init__(self) -> None:
            self._events: list[cqrs.IEvent] = [Slow()]

        @property
        def events(self) -> list[cqrs.IEvent]:
            return self._events

        async def handle(self, request: Go) -> None:
            return None

    sequential = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda mapper: mapper.bind(Go, Raise),
        domain_events_mapper=lambda mapper: mapper.bind(Slow, SlowHandler),
        max_concurrent_event_handlers=1,
        concurrent_event_handle_enable=False,
        propagate_event_errors=True,
    )
    await asyncio.gather(*(sequential.send(Go()) for _ in range(5)))
    assert peak == 5  # the limit (1) applies to parallel mode only, as documented
