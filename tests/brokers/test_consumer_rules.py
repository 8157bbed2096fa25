"""Consumer rules that need no server: wiring errors inside a group, DLX only on RabbitMQ."""

from __future__ import annotations

import di
import pytest
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.rabbit import RabbitBroker, TestRabbitBroker

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.integrations.faststream import (
    DeadLetterTopic,
    RejectToDeadLetterExchange,
    Retry,
    subscribe_events,
)
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.protocol import Message


class Placed(cqrs.Response):
    n: int


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    pass


CALLS: dict[str, int] = {"flaky": 0, "miswired": 0}


class Flaky(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        CALLS["flaky"] += 1
        raise ConnectionError("the database is down")


class Miswired(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        CALLS["miswired"] += 1
        raise DependencyResolutionError("cannot build UsersRepository for Miswired")


def _events(mapper: cqrs.EventMap) -> None:
    mapper.bind(OrderPlaced, Flaky)
    mapper.bind(OrderPlaced, Miswired)


async def test_a_wiring_error_among_several_failures_is_not_retried() -> None:
    broker = RabbitBroker()
    subscriber = broker.subscriber("orders", ack_policy=AckPolicy.MANUAL)
    dead: list[object] = []

    @broker.subscriber("orders.dead-letter")
    async def collect(body: object) -> None:
        dead.append(body)

    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=_events)
    publisher = FastStreamMessageBroker(broker)
    subscribe_events(
        subscriber,
        mediator,
        OrderPlaced,
        dead_letter=DeadLetterTopic(publisher, "orders.dead-letter"),
        retry=Retry(attempts=5, wait_initial=0, wait_jitter=0),
    )
    event = OrderPlaced(event_name="placed", topic="orders", payload=Placed(n=1))

    async with TestRabbitBroker(broker):
        # The in-memory broker runs the consumer inside the publish.
        await publisher.send_message(
            Message(
                message_name="OrderPlaced",
                message_id=event.event_id,
                topic="orders",
                payload=event.to_dict(),
            )
        )

    assert CALLS == {"flaky": 1, "miswired": 1}
    assert len(dead) == 1


def test_reject_to_dead_letter_exchange_is_refused_for_other_brokers() -> None:
    broker = KafkaBroker()
    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=_events)

    with pytest.raises(InvalidConfigurationError, match="RabbitMQ"):
        subscribe_events(
            broker.subscriber("orders", group_id="g", ack_policy=AckPolicy.MANUAL),
            mediator,
            OrderPlaced,
            dead_letter=RejectToDeadLetterExchange(),
        )
