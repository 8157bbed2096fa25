"""Positive: the broker adapter, the wire registry and the FastStream consumer, typed."""

from typing import Any

import di
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.nats import NatsBroker
from faststream.rabbit import RabbitBroker, RabbitExchange
from faststream.redis import RedisBroker
from typing_extensions import assert_type

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.integrations.faststream import (
    DeadLetterTopic,
    RejectToDeadLetterExchange,
    Retry,
    subscribe_events,
    subscribe_requests,
)
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.protocol import Message, MessageBroker
from cqrs.message_brokers.wire import EncodedMessage, MessageRegistry, encode
from cqrs.requests import bootstrap


class Placed(cqrs.Response):
    order_id: str


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    pass


class Cancel(cqrs.Request[None]):
    order_id: str


class OnPlaced(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        pass


class CancelHandler(cqrs.RequestHandler[Cancel, None]):
    async def handle(self, request: Cancel) -> None:
        pass


rabbit = RabbitBroker("amqp://guest:guest@127.0.0.1:5672/")
publisher = FastStreamMessageBroker(rabbit, exchange=RabbitExchange("orders"), publish_timeout=2)
assert_type(publisher, FastStreamMessageBroker)
as_protocol: MessageBroker = publisher
FastStreamMessageBroker(NatsBroker(), stream="orders")
FastStreamMessageBroker(RedisBroker(), target="stream")
FastStreamMessageBroker(KafkaBroker())

registry = MessageRegistry(OrderPlaced)
assert_type(registry, MessageRegistry[OrderPlaced])
assert_type(registry.decode(b"{}", {"cqrs-message-name": "OrderPlaced"}), OrderPlaced)
commands = MessageRegistry(Cancel)
assert_type(commands.decode(b"{}"), Cancel)
either: MessageRegistry[OrderPlaced | Cancel] = MessageRegistry()
either.register(OrderPlaced, event_name="order_placed")
either.register(Cancel, name="cancel-v1")
assert_type(encode(Message(message_name="X", topic="t", payload={})), EncodedMessage)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(OrderPlaced, OnPlaced)


def cancellations(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Cancel, CancelHandler)


event_mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)
request_mediator = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=cancellations)
dead = DeadLetterTopic(publisher, "orders.dead-letter")

subscribed = subscribe_events(
    rabbit.subscriber("orders", ack_policy=AckPolicy.MANUAL),
    event_mediator,
    OrderPlaced,
    dead_letter=dead,
    retry=Retry(attempts=5, wait_initial=0.2),
)
assert_type(subscribed, MessageRegistry[cqrs.IEvent])
subscribed_commands = subscribe_requests(
    rabbit.subscriber("cancellations", ack_policy=AckPolicy.MANUAL),
    request_mediator,
    Cancel,
    dead_letter=RejectToDeadLetterExchange(),
)
assert_type(subscribed_commands, MessageRegistry[cqrs.IRequest[Any]])
