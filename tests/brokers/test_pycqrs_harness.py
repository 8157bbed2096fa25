"""The python-cqrs harness works end to end: python-cqrs on both sides of a real RabbitMQ.

python-cqrs 4.15.1 publishes through its own mediator -> EventEmitter -> AMQPMessageBroker,
then python-cqrs consumes and decodes the same messages. Our package is not involved; this
proves the harness (`tests/brokers/pycqrs.py`) before the interop tests rely on it.

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and a package index for the python-cqrs venv:
without them the tests skip, or fail under CQRS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.brokers import pycqrs

COUNT = 5
SCRIPT_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Rabbit:
    channel: Any  # aio_pika.abc.AbstractChannel
    exchange: str
    topic: str  # python-cqrs: queue name == routing key == event topic
    observer: Any  # a second queue bound with the same key: sees every published copy


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    """A fresh exchange and queue, declared exactly as python-cqrs declares them; removed after."""
    if not pycqrs.rabbitmq_reachable():
        pycqrs.skip_or_fail(
            f"RabbitMQ is not reachable on {pycqrs.RABBITMQ_HOST}:{pycqrs.RABBITMQ_PORT}"
        )
    try:
        import aio_pika
    except ImportError:
        pycqrs.skip_or_fail("aio-pika is not installed in this venv (pip install aio-pika)")
    python = await asyncio.to_thread(pycqrs.pycqrs_python)
    if python is None:
        pycqrs.skip_or_fail(pycqrs.unavailable_reason())

    suffix = uuid.uuid4().hex[:12]
    exchange_name = f"pycqrs-harness-{suffix}"
    topic = f"pycqrs-harness.orders.{suffix}"
    connection = await aio_pika.connect(pycqrs.RABBITMQ_URL, timeout=10)
    async with connection:
        channel = await connection.channel()
        # The same arguments python-cqrs's AMQPPublisher uses, so its re-declaration agrees.
        queue = await channel.declare_queue(topic)
        exchange = await channel.declare_exchange(exchange_name, type="direct", auto_delete=True)
        await queue.bind(exchange, routing_key=topic)
        observer = await channel.declare_queue(
            f"pycqrs-harness-observer-{suffix}", exclusive=True, auto_delete=True
        )
        await observer.bind(exchange, routing_key=topic)
        try:
            yield Rabbit(channel, exchange_name, topic, observer)
        finally:
            cleanup = await connection.channel()
            for name in (topic, observer.name):
                with contextlib.suppress(Exception):
                    await cleanup.queue_delete(name)
            with contextlib.suppress(Exception):
                await cleanup.exchange_delete(exchange_name)


async def _publish(rabbit: Rabbit, count: int) -> list[dict[str, Any]]:
    done = await asyncio.to_thread(
        pycqrs.run_pycqrs,
        "publish",
        "--url",
        pycqrs.RABBITMQ_URL,
        "--exchange",
        rabbit.exchange,
        "--topic",
        rabbit.topic,
        "--count",
        str(count),
        timeout=SCRIPT_TIMEOUT,
    )
    published = pycqrs.json_lines(done)
    assert [p["order_id"] for p in published] == [f"o{i}" for i in range(count)]
    assert len({p["event_id"] for p in published}) == count
    return published


async def _consume(rabbit: Rabbit, count: int, *extra: str) -> list[dict[str, Any]]:
    done = await asyncio.to_thread(
        pycqrs.run_pycqrs,
        "consume",
        "--url",
        pycqrs.RABBITMQ_URL,
        "--queue",
        rabbit.topic,
        "--count",
        str(count),
        "--timeout",
        "20",
        *extra,
        timeout=SCRIPT_TIMEOUT,
    )
    return pycqrs.json_lines(done)


def _check_round_trip(
    published: list[dict[str, Any]], consumed: list[dict[str, Any]], topic: str
) -> None:
    assert len(consumed) == len(published)
    by_id = {p["event_id"]: p for p in published}
    for line in consumed:
        event = line["event"]
        sent = by_id.pop(event["event_id"])
        assert event["event_name"] == "order_placed"
        assert event["topic"] == topic
        assert event["payload"] == {"order_id": sent["order_id"], "amount": sent["amount"]}
        assert line["handled"] is True
        assert line["routing_key"] == topic
    assert not by_id


async def test_pycqrs_publishes_and_consumes_through_rabbitmq(rabbit: Rabbit) -> None:
    published = await _publish(rabbit, COUNT)

    # What python-cqrs put on the wire, seen by plain aio-pika on the observer queue.
    observed = []
    for _ in range(COUNT):
        message = await rabbit.observer.get(timeout=5, no_ack=True)
        observed.append(message)
    sample = observed[0]
    print("python-cqrs body:", sample.body.decode())
    print(
        "python-cqrs properties:",
        {
            name: getattr(sample, name)
            for name in ("content_type", "content_encoding", "headers", "message_id")
        },
        "delivery_mode:",
        int(sample.delivery_mode),
    )
    bodies = [json.loads(m.body) for m in observed]
    assert [b["event_id"] for b in bodies] == [p["event_id"] for p in published]
    assert set(bodies[0]) == {"event_id", "event_timestamp", "event_name", "topic", "payload"}
    assert bodies[0]["payload"] == {"order_id": "o0", "amount": 0}
    assert sample.exchange == rabbit.exchange
    assert sample.routing_key == rabbit.topic
    # python-cqrs 4.15.1 with its default JSON codec sets no content type and no headers;
    # the AMQP message_id is aiormq's random hex, unrelated to the event_id.
    assert sample.content_type is None
    assert not sample.headers
    assert sample.message_id != published[0]["event_id"]

    consumed = await _consume(rabbit, COUNT)
    _check_round_trip(published, consumed, rabbit.topic)
    assert all(not line["headers"] for line in consumed)

    queue = await rabbit.channel.get_queue(rabbit.topic, ensure=True)
    declared = await queue.declare()  # passive: reports the current depth
    assert declared.message_count == 0


async def test_pycqrs_own_consumer_reads_the_queue(rabbit: Rabbit) -> None:
    """`--mode pycqrs`: python-cqrs's amqp_consumer_factory re-declares and consumes the queue."""
    published = await _publish(rabbit, 2)
    consumed = await _consume(rabbit, 2, "--mode", "pycqrs")
    _check_round_trip(published, consumed, rabbit.topic)
