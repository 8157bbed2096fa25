"""Negative: broker options for another broker, non-messages in registries and consumers."""

import di
from faststream import AckPolicy
from faststream.nats import NatsBroker
from faststream.rabbit import RabbitBroker

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.integrations.faststream import DeadLetterTopic, subscribe_events, subscribe_requests
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.wire import MessageRegistry
from cqrs.requests import bootstrap


class Placed(cqrs.Response):
    order_id: str


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    pass


class Cancel(cqrs.Request[None]):
    order_id: str


rabbit = RabbitBroker()
nats = NatsBroker()
publisher = FastStreamMessageBroker(rabbit)
event_mediator = events_bootstrap.bootstrap(di_container=di.Container())
request_mediator = bootstrap.bootstrap(di_container=di.Container())
dead = DeadLetterTopic(publisher, "dead")
subscriber = rabbit.subscriber("orders", ack_policy=AckPolicy.MANUAL)

FastStreamMessageBroker(nats, exchange="orders")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
FastStreamMessageBroker(rabbit, stream="orders")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
FastStreamMessageBroker(rabbit, target="list")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
FastStreamMessageBroker(object())  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
MessageRegistry(int)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
MessageRegistry(OrderPlaced).register(Placed)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
subscribe_events(subscriber, event_mediator, Cancel, dead_letter=dead)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
subscribe_events(subscriber, request_mediator, OrderPlaced, dead_letter=dead)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
subscribe_requests(subscriber, request_mediator, OrderPlaced, dead_letter=dead)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
subscribe_events(subscriber, event_mediator, OrderPlaced)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
registry: MessageRegistry[OrderPlaced] = MessageRegistry(Cancel)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
