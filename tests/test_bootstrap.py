"""The bootstrap functions (SPEC 2.8): one-call set-up of the mediators."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol, TypeVar

import di
import pytest
from di.dependent import Dependent

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.middlewares.logging import LoggingMiddleware
from cqrs.requests import bootstrap

# --- the model ----------------------------------------------------------------------


class Greeter(Protocol):
    def greet(self, name: str) -> str: ...


class EnglishGreeter:
    def greet(self, name: str) -> str:
        return f"Hello, {name}"


class Greet(cqrs.Request):
    name: str


class Greeting(cqrs.Response):
    text: str


class Greeted(cqrs.DomainEvent, frozen=True):
    name: str


class GreetedNotification(cqrs.NotificationEvent[dict[str, str]], frozen=True):
    pass


class GreetHandler(cqrs.RequestHandler[Greet, Greeting]):
    def __init__(self, greeter: Greeter) -> None:
        self._greeter = greeter
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Greet) -> Greeting:
        self._events.append(Greeted(name=request.name))
        return Greeting(text=self._greeter.greet(request.name))


class NotifyingGreetHandler(cqrs.RequestHandler[Greet, Greeting]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return [GreetedNotification(event_name="greeted", payload={"name": "bob"})]

    async def handle(self, request: Greet) -> Greeting:
        return Greeting(text="hi")


class PlainGreetHandler(cqrs.RequestHandler[Greet, Greeting]):
    async def handle(self, request: Greet) -> Greeting:
        return Greeting(text=f"hi {request.name}")


class StreamGreet(cqrs.Request):
    names: list[str]


class StreamGreetHandler(cqrs.StreamingRequestHandler[StreamGreet, Greeting]):
    def __init__(self, greeter: Greeter) -> None:
        self._greeter = greeter
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return list(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: StreamGreet) -> AsyncIterator[Greeting]:
        for name in request.names:
            self._events.append(Greeted(name=name))
            yield Greeting(text=self._greeter.greet(name))


SEEN: list[str] = []


class GreetedHandler(cqrs.EventHandler[Greeted]):
    async def handle(self, event: Greeted) -> None:
        SEEN.append(event.name)


class FailingGreetedHandler(cqrs.EventHandler[Greeted]):
    async def handle(self, event: Greeted) -> None:
        msg = f"cannot handle {event.name}"
        raise RuntimeError(msg)


class GreetedHandlerNeedingGreeter(cqrs.EventHandler[Greeted]):
    def __init__(self, greeter: Greeter) -> None:
        self._greeter = greeter

    async def handle(self, event: Greeted) -> None:
        SEEN.append(self._greeter.greet(event.name))


@pytest.fixture(autouse=True)
def _clear_seen() -> None:
    SEEN.clear()


def greeter_container() -> di.Container:
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(EnglishGreeter, scope="request"), Greeter))
    return container


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Greet, GreetHandler)


def streaming_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(StreamGreet, StreamGreetHandler)


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(Greeted, GreetedHandler)


_M = TypeVar("_M")


def counting(mapper: Callable[[_M], None], counter: list[str], name: str) -> Callable[[_M], None]:
    def wrapped(target: _M) -> None:
        counter.append(name)
        mapper(target)

    return wrapped


class RecordingBroker:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)


# --- return types -------------------------------------------------------------------


def test_bootstrap_returns_a_request_mediator() -> None:
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(), commands_mapper=commands_mapper
    )

    assert isinstance(mediator, cqrs.RequestMediator)


def test_bootstrap_streaming_returns_a_streaming_request_mediator() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=greeter_container(), commands_mapper=streaming_mapper
    )

    assert isinstance(mediator, cqrs.StreamingRequestMediator)


def test_events_bootstrap_returns_an_event_mediator() -> None:
    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper)

    assert isinstance(mediator, cqrs.EventMediator)


def test_setup_event_emitter_returns_an_event_emitter() -> None:
    emitter = bootstrap.setup_event_emitter(cqrs.DIContainer(), events_mapper)

    assert isinstance(emitter, cqrs.EventEmitter)
    assert list(emitter.event_map[Greeted]) == [GreetedHandler]


def test_setup_mediator_returns_a_request_mediator() -> None:
    container = cqrs.DIContainer(greeter_container())
    emitter = bootstrap.setup_event_emitter(container, events_mapper)

    mediator = bootstrap.setup_mediator(emitter, container, commands_mapper=commands_mapper)

    assert isinstance(mediator, cqrs.RequestMediator)
    assert mediator.request_map[Greet] is GreetHandler


def test_setup_streaming_mediator_returns_a_streaming_request_mediator() -> None:
    container = cqrs.DIContainer(greeter_container())
    emitter = bootstrap.setup_event_emitter(container, events_mapper)

    mediator = bootstrap.setup_streaming_mediator(
        emitter, container, commands_mapper=streaming_mapper
    )

    assert isinstance(mediator, cqrs.StreamingRequestMediator)
    assert mediator.request_map[StreamGreet] is StreamGreetHandler


async def test_setup_mediator_sends_and_processes_events_through_the_emitter() -> None:
    container = cqrs.DIContainer(greeter_container())
    emitter = bootstrap.setup_event_emitter(container, events_mapper)
    mediator = bootstrap.setup_mediator(emitter, container, commands_mapper=commands_mapper)

    response = await mediator.send(Greet(name="ann"))

    assert response.text == "Hello, ann"
    assert SEEN == ["ann"]


async def test_setup_streaming_mediator_streams_and_processes_events() -> None:
    container = cqrs.DIContainer(greeter_container())
    emitter = bootstrap.setup_event_emitter(container, events_mapper)
    mediator = bootstrap.setup_streaming_mediator(
        emitter, container, commands_mapper=streaming_mapper
    )

    texts = [item.text async for item in mediator.stream(StreamGreet(names=["a", "b"]))]

    assert texts == ["Hello, a", "Hello, b"]
    assert SEEN == ["a", "b"]


# --- mappers and on_startup ---------------------------------------------------------


def test_bootstrap_calls_each_mapper_exactly_once() -> None:
    calls: list[str] = []

    bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=counting(commands_mapper, calls, "commands"),
        queries_mapper=counting(lambda _: None, calls, "queries"),
        domain_events_mapper=counting(events_mapper, calls, "events"),
    )

    assert sorted(calls) == ["commands", "events", "queries"]


def test_bootstrap_streaming_calls_each_mapper_exactly_once() -> None:
    calls: list[str] = []

    bootstrap.bootstrap_streaming(
        di_container=greeter_container(),
        commands_mapper=counting(streaming_mapper, calls, "commands"),
        queries_mapper=counting(lambda _: None, calls, "queries"),
        domain_events_mapper=counting(events_mapper, calls, "events"),
    )

    assert sorted(calls) == ["commands", "events", "queries"]


def test_events_bootstrap_calls_the_events_mapper_exactly_once() -> None:
    calls: list[str] = []

    events_bootstrap.bootstrap(
        di_container=di.Container(), events_mapper=counting(events_mapper, calls, "events")
    )

    assert calls == ["events"]


def test_bootstrap_runs_on_startup_before_the_mappers() -> None:
    calls: list[str] = []

    bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=counting(commands_mapper, calls, "commands"),
        queries_mapper=counting(lambda _: None, calls, "queries"),
        domain_events_mapper=counting(events_mapper, calls, "events"),
        on_startup=[lambda: calls.append("startup 1"), lambda: calls.append("startup 2")],
    )

    assert calls[:2] == ["startup 1", "startup 2"]
    assert sorted(calls[2:]) == ["commands", "events", "queries"]


def test_bootstrap_streaming_runs_on_startup_before_the_mappers() -> None:
    calls: list[str] = []

    bootstrap.bootstrap_streaming(
        di_container=greeter_container(),
        commands_mapper=counting(streaming_mapper, calls, "commands"),
        domain_events_mapper=counting(events_mapper, calls, "events"),
        on_startup=[lambda: calls.append("startup")],
    )

    assert calls[0] == "startup"
    assert sorted(calls[1:]) == ["commands", "events"]


def test_events_bootstrap_runs_on_startup_before_the_mapper() -> None:
    calls: list[str] = []

    events_bootstrap.bootstrap(
        di_container=di.Container(),
        events_mapper=counting(events_mapper, calls, "events"),
        on_startup=[lambda: calls.append("startup")],
    )

    assert calls == ["startup", "events"]


# --- the default broker -------------------------------------------------------------


async def test_bootstrap_without_broker_drops_notifications_in_devnull_with_a_debug_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")

    def mapper(m: cqrs.RequestMap) -> None:
        m.bind(Greet, NotifyingGreetHandler)

    mediator = bootstrap.bootstrap(
        di_container=di.Container(), commands_mapper=mapper, propagate_event_errors=True
    )
    await mediator.send(Greet(name="bob"))

    dropped = [r for r in caplog.records if "DevnullMessageBroker" in r.getMessage()]
    assert len(dropped) == 1
    assert dropped[0].name == "cqrs"
    assert dropped[0].levelno == logging.DEBUG
    assert "GreetedNotification" in dropped[0].getMessage()


async def test_setup_event_emitter_without_broker_uses_devnull() -> None:
    emitter = bootstrap.setup_event_emitter(cqrs.DIContainer())

    follow_ups = await emitter.emit(GreetedNotification(event_name="greeted", payload={}))

    assert list(follow_ups) == []


async def test_bootstrap_publishes_notifications_to_the_given_broker() -> None:
    broker = RecordingBroker()

    def mapper(m: cqrs.RequestMap) -> None:
        m.bind(Greet, NotifyingGreetHandler)

    mediator = bootstrap.bootstrap(
        di_container=di.Container(), message_broker=broker, commands_mapper=mapper
    )
    await mediator.send(Greet(name="bob"))

    assert [m.message_name for m in broker.messages] == ["GreetedNotification"]


# --- LoggingMiddleware --------------------------------------------------------------


def handling_logs(caplog: pytest.LogCaptureFixture, logger: str = "cqrs") -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == logger and r.getMessage().startswith(("Handling", "Handled"))
    ]


async def test_bootstrap_appends_logging_middleware(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(), commands_mapper=commands_mapper
    )

    await mediator.send(Greet(name="ann"))

    logs = handling_logs(caplog)
    assert any("Greet" in m and "ann" in m for m in logs if m.startswith("Handling Greet"))
    assert any("Hello, ann" in m for m in logs if m.startswith("Handled Greet"))


async def test_bootstrap_appends_logging_middleware_after_the_given_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    seen: list[str] = []

    class Recording:
        async def __call__(self, request: Any, handle: Callable[[Any], Any], /) -> Any:
            seen.append(type(request).__name__)
            return await handle(request)

    mediator = bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=commands_mapper,
        middlewares=[Recording()],
    )
    await mediator.send(Greet(name="ann"))

    assert "Greet" in seen
    assert any(m.startswith("Handling Greet") for m in handling_logs(caplog))


async def test_bootstrap_does_not_add_a_second_logging_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=commands_mapper,
        middlewares=[LoggingMiddleware(logging.getLogger("tests.custom"))],
    )

    await mediator.send(Greet(name="ann"))

    assert [m for m in handling_logs(caplog) if "Greet:" in m] == []
    assert len([m for m in handling_logs(caplog, "tests.custom") if "Greet:" in m]) == 2


async def test_bootstrap_with_a_logging_middleware_logs_each_request_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=commands_mapper,
        middlewares=[LoggingMiddleware()],
    )

    await mediator.send(Greet(name="ann"))

    logs = handling_logs(caplog)
    assert len([m for m in logs if m.startswith("Handling Greet:")]) == 1
    assert len([m for m in logs if m.startswith("Handled Greet:")]) == 1


async def test_bootstrap_streaming_appends_logging_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    mediator = bootstrap.bootstrap_streaming(
        di_container=greeter_container(), commands_mapper=streaming_mapper
    )

    [item async for item in mediator.stream(StreamGreet(names=["a"]))]

    assert any(m.startswith("Handling StreamGreet") for m in handling_logs(caplog))


async def test_events_bootstrap_appends_logging_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper)

    await mediator.send(Greeted(name="eve"))

    assert SEEN == ["eve"]
    assert any(m.startswith("Handling Greeted") for m in handling_logs(caplog))


# --- wiring errors at bootstrap -----------------------------------------------------


def assert_names_handler_and_dependency(error: DependencyResolutionError, handler: str) -> None:
    message = str(error)
    assert handler in message
    assert "Greeter" in message.replace(handler, "")


def test_bootstrap_fails_on_a_handler_whose_dependency_is_unbound() -> None:
    with pytest.raises(DependencyResolutionError) as exc_info:
        bootstrap.bootstrap(di_container=di.Container(), commands_mapper=commands_mapper)

    assert_names_handler_and_dependency(exc_info.value, "GreetHandler")


def test_bootstrap_fails_on_an_event_handler_whose_dependency_is_unbound() -> None:
    def mapper(m: cqrs.EventMap) -> None:
        m.bind(Greeted, GreetedHandlerNeedingGreeter)

    with pytest.raises(DependencyResolutionError) as exc_info:
        bootstrap.bootstrap(di_container=di.Container(), domain_events_mapper=mapper)

    assert_names_handler_and_dependency(exc_info.value, "GreetedHandlerNeedingGreeter")


def test_bootstrap_streaming_fails_on_a_handler_whose_dependency_is_unbound() -> None:
    with pytest.raises(DependencyResolutionError) as exc_info:
        bootstrap.bootstrap_streaming(di_container=di.Container(), commands_mapper=streaming_mapper)

    assert_names_handler_and_dependency(exc_info.value, "StreamGreetHandler")


def test_events_bootstrap_fails_on_a_handler_whose_dependency_is_unbound() -> None:
    def mapper(m: cqrs.EventMap) -> None:
        m.bind(Greeted, GreetedHandlerNeedingGreeter)

    with pytest.raises(DependencyResolutionError) as exc_info:
        events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=mapper)

    assert_names_handler_and_dependency(exc_info.value, "GreetedHandlerNeedingGreeter")


def test_bootstrap_fails_when_given_a_di_container_that_cannot_build_a_handler() -> None:
    with pytest.raises(DependencyResolutionError) as exc_info:
        bootstrap.bootstrap(di_container=cqrs.DIContainer(), commands_mapper=commands_mapper)

    assert_names_handler_and_dependency(exc_info.value, "GreetHandler")


# --- settings -----------------------------------------------------------------------


def test_bootstrap_rejects_zero_max_concurrent_event_handlers() -> None:
    with pytest.raises(InvalidConfigurationError, match="max_concurrent_event_handlers"):
        bootstrap.bootstrap(di_container=di.Container(), max_concurrent_event_handlers=0)


def test_bootstrap_streaming_rejects_zero_max_concurrent_event_handlers() -> None:
    with pytest.raises(InvalidConfigurationError, match="max_concurrent_event_handlers"):
        bootstrap.bootstrap_streaming(di_container=di.Container(), max_concurrent_event_handlers=0)


def fail_events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(Greeted, FailingGreetedHandler)
    mapper.bind(Greeted, GreetedHandler)


@pytest.mark.parametrize("concurrent", [True, False])
async def test_bootstrap_propagate_event_errors_makes_send_raise(concurrent: bool) -> None:
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=commands_mapper,
        domain_events_mapper=fail_events_mapper,
        concurrent_event_handle_enable=concurrent,
        propagate_event_errors=True,
    )

    with pytest.raises(RuntimeError, match="cannot handle ann"):
        await mediator.send(Greet(name="ann"))

    assert SEEN == ["ann"]


async def test_bootstrap_by_default_logs_event_errors_and_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(),
        commands_mapper=commands_mapper,
        domain_events_mapper=fail_events_mapper,
    )

    response = await mediator.send(Greet(name="ann"))

    assert response.text == "Hello, ann"
    errors = [r for r in caplog.records if r.name == "cqrs" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "FailingGreetedHandler" in errors[0].getMessage()


async def test_bootstrap_streaming_propagate_event_errors_makes_the_stream_raise() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=greeter_container(),
        commands_mapper=streaming_mapper,
        domain_events_mapper=fail_events_mapper,
        propagate_event_errors=True,
    )

    with pytest.raises(RuntimeError, match="cannot handle a"):
        [item async for item in mediator.stream(StreamGreet(names=["a", "b"]))]


# --- containers accepted ------------------------------------------------------------


async def test_bootstrap_accepts_a_raw_di_container() -> None:
    mediator = bootstrap.bootstrap(
        di_container=greeter_container(), commands_mapper=commands_mapper
    )

    response = await mediator.send(Greet(name="ann"))

    assert response.text == "Hello, ann"


async def test_bootstrap_accepts_a_cqrs_di_container() -> None:
    mediator = bootstrap.bootstrap(
        di_container=cqrs.DIContainer(greeter_container()), commands_mapper=commands_mapper
    )

    response = await mediator.send(Greet(name="ann"))

    assert response.text == "Hello, ann"


class Counter:
    def __init__(self) -> None:
        self.count = 0


class CountingHandler(cqrs.RequestHandler[Greet, Greeting]):
    def __init__(self, counter: Counter) -> None:
        self._counter = counter

    async def handle(self, request: Greet) -> Greeting:
        self._counter.count += 1
        return Greeting(text=str(self._counter.count))


async def test_bootstrap_uses_the_given_di_container_itself() -> None:
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(Counter, scope="singleton"), Counter))
    container = cqrs.DIContainer(raw)

    def mapper(m: cqrs.RequestMap) -> None:
        m.bind(Greet, CountingHandler)

    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=mapper)
    await mediator.send(Greet(name="a"))
    await mediator.send(Greet(name="b"))

    probe = await container.resolve(CountingHandler)
    assert probe._counter.count == 2


async def test_bootstrap_streaming_accepts_a_cqrs_di_container() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=cqrs.DIContainer(greeter_container()), commands_mapper=streaming_mapper
    )

    texts = [item.text async for item in mediator.stream(StreamGreet(names=["x"]))]

    assert texts == ["Hello, x"]


async def test_events_bootstrap_accepts_a_cqrs_di_container() -> None:
    def mapper(m: cqrs.EventMap) -> None:
        m.bind(Greeted, GreetedHandlerNeedingGreeter)

    mediator = events_bootstrap.bootstrap(
        di_container=cqrs.DIContainer(greeter_container()), events_mapper=mapper
    )

    await mediator.send(Greeted(name="eve"))

    assert SEEN == ["Hello, eve"]


def test_bootstrap_with_plain_handler_needs_no_bindings() -> None:
    def mapper(m: cqrs.RequestMap) -> None:
        m.bind(Greet, PlainGreetHandler)

    mediator = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=mapper)

    assert mediator.request_map[Greet] is PlainGreetHandler
