"""Publish notification events to RabbitMQ with python-cqrs 4.15.1's own stack.

Runs inside the python-cqrs venv built by `tests/brokers/pycqrs.py`, never in the project's
venv (both distributions are imported as `cqrs`). Usage::

    publish.py --url amqp://guest:guest@127.0.0.1:5672/ --exchange EX --topic T --count N

The path is the one a python-cqrs application takes: `cqrs.requests.bootstrap.bootstrap`
with `message_broker=AMQPMessageBroker(publisher=amqp_publisher_factory(url=...),
exchange_name=EX)`; a command handler raises N `cqrs.NotificationEvent[OrderPayload]`
(event_name "order_placed", topic T, payload order_id "o<i>", amount i) and the mediator's
EventEmitter sends each one to the broker. One JSON line is printed per event the broker
sent: {"event_id", "order_id", "amount", "event_name", "topic", "message_name"}.

python-cqrs is imported inside the functions so that importing this file elsewhere (pytest's
doctest collection runs in the project venv) has no side effects.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="amqp://user:password@host:port/vhost")
    parser.add_argument("--exchange", required=True, help="AMQPMessageBroker exchange_name")
    parser.add_argument("--topic", required=True, help="event topic (queue and routing key)")
    parser.add_argument("--count", type=int, default=1, help="how many events to publish")
    parser.add_argument("--event-name", default="order_placed")
    return parser.parse_args(argv)


async def _close_publisher(publisher: Any) -> None:
    """Close python-cqrs's channel pool and the connection pool behind it (best effort)."""
    channel_pool = getattr(publisher, "channel_pool", None)
    constructor = getattr(channel_pool, "_Pool__constructor", None)
    connection_pool = getattr(constructor, "keywords", {}).get("connection_pool")
    for pool in (channel_pool, connection_pool):
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close()


async def publish(url: str, exchange: str, topic: str, count: int, event_name: str) -> int:
    os.environ.setdefault("CQRS_SUPPRESS_V4_EOL_WARNING", "1")
    import di
    import pydantic

    import cqrs
    from cqrs.adapters.amqp import amqp_publisher_factory
    from cqrs.message_brokers.amqp import AMQPMessageBroker
    from cqrs.message_brokers.protocol import Message
    from cqrs.requests import bootstrap

    class OrderPayload(pydantic.BaseModel):
        order_id: str
        amount: int

    class PlaceOrders(cqrs.Request):
        topic: str
        count: int
        event_name: str

    class PlaceOrdersHandler(cqrs.RequestHandler[PlaceOrders, None]):
        def __init__(self) -> None:
            self._events: list[cqrs.IEvent] = []

        @property
        def events(self) -> list[cqrs.IEvent]:
            return list(self._events)

        async def handle(self, request: PlaceOrders) -> None:
            for i in range(request.count):
                self._events.append(
                    cqrs.NotificationEvent[OrderPayload](
                        event_name=request.event_name,
                        topic=request.topic,
                        payload=OrderPayload(order_id=f"o{i}", amount=i),
                    ),
                )

    sent: list[Message] = []

    class RecordingAMQPMessageBroker(AMQPMessageBroker):
        """python-cqrs's broker, unchanged; remembers what it sent so we can report it."""

        async def send_message(self, message: Message) -> None:
            await super().send_message(message)
            sent.append(message)

    publisher = amqp_publisher_factory(url=url)
    broker = RecordingAMQPMessageBroker(publisher=publisher, exchange_name=exchange)

    def commands_mapper(mapper: Any) -> None:
        mapper.bind(PlaceOrders, PlaceOrdersHandler)

    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        message_broker=broker,
        commands_mapper=commands_mapper,
    )
    try:
        await mediator.send(PlaceOrders(topic=topic, count=count, event_name=event_name))
    finally:
        await _close_publisher(publisher)

    for message in sent:
        payload = message.payload["payload"]
        line = {
            "event_id": str(message.message_id),
            "order_id": payload["order_id"],
            "amount": payload["amount"],
            "event_name": message.payload["event_name"],
            "topic": message.topic,
            "message_name": message.message_name,
        }
        print(json.dumps(line), flush=True)
    if len(sent) != count:
        print(f"published {len(sent)} events, expected {count}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(publish(args.url, args.exchange, args.topic, args.count, args.event_name))


if __name__ == "__main__":
    sys.exit(main())
