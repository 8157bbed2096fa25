"""`RequestMediator.send` (SPEC 2.4, 2.9): one handler per request, then its events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import di
import pytest

import cqrs
from cqrs.exceptions import (
    InvalidConfigurationError,
    RequestHandlerDoesNotExist,
    RequestHandlerTypeError,
)
from cqrs.middlewares.base import MiddlewareChain
from cqrs.requests import bootstrap

# --- models -------------------------------------------------------------------------


class Greeting(cqrs.Response):
    text: str


class Greet(cqrs.Request[Greeting]):
    name: str


class Unbound(cqrs.Request[Greeting]):
    pass


class Greeted(cqrs.DomainEvent, frozen=True):
    name: str


# --- recorders shared by handlers (the container builds a fresh handler each time) ---


class Journal:
    """What the handlers of one test did, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.instances: list[object] = []
        self.error: Exception | None = None


JOURNAL = Journal()


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - handlers are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class GreetHandler(cqrs.RequestHandler[Greet, Greeting]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []
        self.calls = 0
        JOURNAL.instances.append(self)

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def handle(self, request: Greet) -> Greeting:
        self.calls += 1
        JOURNAL.log.append(f"handle {request.name}")
        self._events.append(Greeted(name=request.name))
        if JOURNAL.error is not None:
            raise JOURNAL.error
        return Greeting(text=f"hello {request.name} (call {self.calls})")


class GreetedHandler(cqrs.EventHandler[Greeted]):
    async def handle(self, event: Greeted) -> None:
        JOURNAL.log.append(f"event {event.name}")


class GreetStreamHandler(cqrs.StreamingRequestHandler[Greet, Greeting]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Greet) -> AsyncIterator[Greeting]:
        yield Greeting(text=request.name)


def make_mediator(
    handler: type[Any] = GreetHandler,
    *,
    middleware_chain: MiddlewareChain | None = None,
    **kwargs: Any,
) -> cqrs.RequestMediator:
    request_map = cqrs.RequestMap()
    request_map.bind(Greet, handler)
    event_map = cqrs.EventMap()
    event_map.bind(Greeted, GreetedHandler)
    return cqrs.RequestMediator(
        request_map,
        cqrs.DIContainer(di.Container()),
        event_map=event_map,
        middleware_chain=middleware_chain,
        **kwargs,
    )


# --- send -----------------------------------------------------------------------------


async def test_send_returns_the_handlers_response() -> None:
    mediator = make_mediator()

    response = await mediator.send(Greet(name="ada"))

    assert response == Greeting(text="hello ada (call 1)")


async def test_send_through_bootstrap_returns_the_handlers_response() -> None:
    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Greet, GreetHandler)

    mediator = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=commands)

    assert await mediator.send(Greet(name="bob")) == Greeting(text="hello bob (call 1)")


async def test_send_of_an_unbound_request_raises_naming_the_request() -> None:
    mediator = make_mediator()

    with pytest.raises(RequestHandlerDoesNotExist, match="Unbound"):
        await mediator.send(Unbound())


async def test_send_of_a_streaming_handler_raises_type_error_pointing_to_stream() -> None:
    mediator = make_mediator(GreetStreamHandler)

    with pytest.raises(RequestHandlerTypeError) as caught:
        await mediator.send(Greet(name="ada"))

    message = str(caught.value)
    assert "GreetStreamHandler" in message
    assert "stream()" in message


async def test_handler_exception_propagates_as_the_same_object(journal: Journal) -> None:
    boom = RuntimeError("handler failed")
    journal.error = boom
    mediator = make_mediator()

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(Greet(name="ada"))

    assert caught.value is boom


async def test_events_of_a_failed_handler_are_not_emitted(journal: Journal) -> None:
    journal.error = RuntimeError("handler failed")
    mediator = make_mediator()

    with pytest.raises(RuntimeError):
        await mediator.send(Greet(name="ada"))

    assert journal.log == ["handle ada"]


@pytest.mark.parametrize(
    ("concurrent", "limit"), [(False, 1), (True, 1), (True, 5)], ids=["sequential", "p1", "p5"]
)
async def test_events_are_processed_before_send_returns(
    journal: Journal, concurrent: bool, limit: int
) -> None:
    mediator = make_mediator(
        concurrent_event_handle_enable=concurrent, max_concurrent_event_handlers=limit
    )

    await mediator.send(Greet(name="ada"))
    journal.log.append("send returned")

    assert journal.log == ["handle ada", "event ada", "send returned"]


async def test_each_send_gets_a_fresh_handler_instance(journal: Journal) -> None:
    mediator = make_mediator()

    first = await mediator.send(Greet(name="ada"))
    second = await mediator.send(Greet(name="ada"))

    assert len(journal.instances) == 2
    assert journal.instances[0] is not journal.instances[1]
    # A reused instance would count its calls on: each one saw exactly one request.
    assert first.text == second.text == "hello ada (call 1)"


class RecordingMiddleware:
    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, request: Any, handle: Callable[[Any], Awaitable[Any]], /) -> Any:
        JOURNAL.log.append(f"enter {self.name}")
        response = await handle(request)
        JOURNAL.log.append(f"exit {self.name}")
        return response


async def test_middlewares_run_first_added_outermost(journal: Journal) -> None:
    chain = MiddlewareChain()
    chain.add(RecordingMiddleware("first"))
    chain.add(RecordingMiddleware("second"))
    mediator = make_mediator(middleware_chain=chain)

    response = await mediator.send(Greet(name="ada"))

    assert response.text == "hello ada (call 1)"
    assert journal.log[:5] == [
        "enter first",
        "enter second",
        "handle ada",
        "exit second",
        "exit first",
    ]


class ReplacingMiddleware:
    async def __call__(self, request: Any, handle: Callable[[Any], Awaitable[Any]], /) -> Any:
        await handle(request)
        return Greeting(text="replaced")


async def test_send_returns_what_the_middleware_chain_returns() -> None:
    mediator = make_mediator(middleware_chain=MiddlewareChain([ReplacingMiddleware()]))

    assert await mediator.send(Greet(name="ada")) == Greeting(text="replaced")


@pytest.mark.parametrize("limit", [0, -1])
def test_max_concurrent_event_handlers_below_one_fails_at_construction(limit: int) -> None:
    with pytest.raises(InvalidConfigurationError, match="max_concurrent_event_handlers"):
        make_mediator(max_concurrent_event_handlers=limit)


def test_invalid_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="max_concurrent_event_handlers"):
        make_mediator(max_concurrent_event_handlers=0)


def test_bootstrap_with_zero_event_handlers_fails_at_construction() -> None:
    with pytest.raises(InvalidConfigurationError):
        bootstrap.bootstrap(di_container=di.Container(), max_concurrent_event_handlers=0)
