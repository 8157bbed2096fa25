"""Positive: the python-cqrs import paths resolve, to the same types as `cqrs.*`."""

from typing_extensions import assert_type

import cqrs
import cqrs.requests.bootstrap
from cqrs.container.di import DIContainer
from cqrs.container.protocol import Container
from cqrs.dispatcher.exceptions import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs.events import EventEmitter, EventHandler, EventMap
from cqrs.events.bootstrap import bootstrap as events_bootstrap
from cqrs.events.event import DomainEvent, Event, NotificationEvent
from cqrs.events.event_handler import EventHandler as EventHandlerFromModule
from cqrs.events.event_processor import EventProcessor
from cqrs.mediator import EventMediator, RequestMediator, StreamingRequestMediator
from cqrs.message_brokers.devnull import DevnullMessageBroker
from cqrs.message_brokers.protocol import Message, MessageBroker
from cqrs.middlewares.base import Middleware, MiddlewareChain
from cqrs.middlewares.logging import LoggingMiddleware
from cqrs.requests.bootstrap import (
    bootstrap,
    bootstrap_streaming,
    setup_event_emitter,
    setup_mediator,
    setup_streaming_mediator,
)
from cqrs.requests.map import RequestMap
from cqrs.requests.request import Request
from cqrs.requests.request_handler import RequestHandler, StreamingRequestHandler
from cqrs.response import Response

assert_type(RequestMap, type[cqrs.RequestMap])
assert_type(EventMap, type[cqrs.EventMap])
assert_type(EventEmitter, type[cqrs.EventEmitter])
assert_type(Event, type[cqrs.Event])
assert_type(DomainEvent, type[cqrs.DomainEvent])
assert_type(RequestMediator, type[cqrs.RequestMediator])
assert_type(StreamingRequestMediator, type[cqrs.StreamingRequestMediator])
assert_type(EventMediator, type[cqrs.EventMediator])
assert_type(DIContainer, type[cqrs.DIContainer])


# Generic classes: the same type both ways round.
def same_request(r: Request[int]) -> cqrs.Request[int]:
    return r


def same_response(r: cqrs.Response) -> Response:
    return r


def same_handler(h: RequestHandler[Request[int], int]) -> cqrs.RequestHandler[Request[int], int]:
    return h


def same_streaming(
    h: StreamingRequestHandler[Request[int], int],
) -> cqrs.StreamingRequestHandler[Request[int], int]:
    return h


def same_event_handler(h: EventHandler[Event]) -> EventHandlerFromModule[cqrs.Event]:
    return h


def same_notification(e: NotificationEvent[int]) -> cqrs.NotificationEvent[int]:
    return e


def same_container(c: Container[int]) -> cqrs.Container[int]:
    return c


def bootstrap_paths() -> None:
    assert cqrs.requests.bootstrap.bootstrap is bootstrap


def used() -> tuple[object, ...]:
    return (
        events_bootstrap,
        bootstrap_streaming,
        setup_event_emitter,
        setup_mediator,
        setup_streaming_mediator,
        EventProcessor,
        DevnullMessageBroker,
        Message,
        MessageBroker,
        Middleware,
        MiddlewareChain,
        LoggingMiddleware,
        RequestHandlerDoesNotExist,
        RequestHandlerTypeError,
    )
