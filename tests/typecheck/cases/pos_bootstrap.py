"""Positive: bootstrap functions return the mediator types; mappers are plain callables."""

from collections.abc import Callable

import di
from typing_extensions import assert_type

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.message_brokers.devnull import DevnullMessageBroker
from cqrs.middlewares.logging import LoggingMiddleware
from cqrs.requests import bootstrap
from cqrs.requests.map import RequestBinding


class Ping(cqrs.Request[str]):
    pass


class PingHandler(cqrs.RequestHandler[Ping, str]):
    async def handle(self, request: Ping) -> str:
        return "pong"


class Pinged(cqrs.DomainEvent, frozen=True):
    pass


class PingedHandler(cqrs.EventHandler[Pinged]):
    async def handle(self, event: Pinged) -> None:
        pass


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Ping, PingHandler)


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(Pinged, PingedHandler)


def on_startup() -> None:
    pass


requests_mapper: Callable[[cqrs.RequestMap], None] = commands_mapper
domain_mapper: Callable[[cqrs.EventMap], None] = events_mapper


def build() -> None:
    assert_type(
        bootstrap.bootstrap(
            di_container=di.Container(),
            message_broker=DevnullMessageBroker(),
            middlewares=[LoggingMiddleware()],
            commands_mapper=requests_mapper,
            domain_events_mapper=domain_mapper,
            queries_mapper=lambda mapper: mapper.bind(Ping, PingHandler),
            on_startup=[on_startup],
            max_concurrent_event_handlers=2,
            concurrent_event_handle_enable=False,
            propagate_event_errors=True,
        ),
        cqrs.RequestMediator,
    )
    assert_type(
        bootstrap.bootstrap_streaming(
            di_container=cqrs.DIContainer(di.Container()),
            commands_mapper=requests_mapper,
            domain_events_mapper=domain_mapper,
        ),
        cqrs.StreamingRequestMediator,
    )
    assert_type(
        events_bootstrap.bootstrap(
            di_container=di.Container(),
            events_mapper=domain_mapper,
            on_startup=[on_startup],
        ),
        cqrs.EventMediator,
    )
    # Positional use, as python-cqrs code often does.
    assert_type(bootstrap.bootstrap(di.Container()), cqrs.RequestMediator)
    assert_type(events_bootstrap.bootstrap(di.Container()), cqrs.EventMediator)


def direct() -> None:
    request_map = cqrs.RequestMap()
    commands_mapper(request_map)
    event_map = cqrs.EventMap()
    events_mapper(event_map)
    container = cqrs.DIContainer()
    emitter = cqrs.EventEmitter(event_map, container, DevnullMessageBroker())
    assert_type(
        cqrs.RequestMediator(request_map, container, emitter, event_map=event_map),
        cqrs.RequestMediator,
    )
    assert_type(
        cqrs.StreamingRequestMediator(request_map, container, max_concurrent_event_handlers=3),
        cqrs.StreamingRequestMediator,
    )
    assert_type(cqrs.EventMediator(event_map, container), cqrs.EventMediator)
    assert_type(Ping in request_map, bool)
    assert_type(
        request_map.get(Ping),
        RequestBinding | None,
    )
