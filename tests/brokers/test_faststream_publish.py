"""`FastStreamMessageBroker` against real servers, each message read back by another client.

Every broker FastStream supports here (RabbitMQ, NATS core and JetStream, Redis channel /
stream / list, Kafka) is published to through the full mediator path at least once:
`bootstrap(..., message_broker=FastStreamMessageBroker(broker))`, a command handler
raising a `NotificationEvent` whose topic is the test's unique queue / subject / key.
The message is then read back with the broker's own client (aio-pika, nats-py,
redis-py, aiokafka), never with FastStream, and decoded with a `MessageRegistry`.

Framing notes pinned here:

- RabbitMQ, NATS and Kafka carry the wire body as is and the cqrs headers as native
  headers. FastStream adds a `correlation_id` header on NATS and Kafka (on RabbitMQ it
  is the AMQP property), and `Nats-Expected-Stream` on JetStream. The `content-type`
  header is ours (FastStream sends an empty one for a bytes body; ours wins).
- Redis has no headers: FastStream wraps headers and body in its own binary envelope
  (`faststream.redis.BinaryMessageFormatV1`: magic `\\x89BIN\\r\\n\\x1a\\n`, a version,
  offsets, length-prefixed header strings, then the body), on a channel, as the
  `__data__` field of a stream entry, and as a list element. A non-FastStream reader
  sees those bytes, not the JSON body.

Services: RabbitMQ, NATS (JetStream), Redis on loopback, and the Tansu Kafka-compatible
broker the `kafka_server` fixtures start; a missing one skips (fails under
CQRS_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import math
import pathlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aio_pika
import anyio
import di
import nats
import pydantic
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from faststream.nats import NatsBroker
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange
from faststream.redis import BinaryMessageFormatV1, RedisBroker, RedisMessage

import cqrs
from cqrs.exceptions import (
    InvalidConfigurationError,
    MessageBrokerError,
    MessageDecodeError,
    PublishTimeoutError,
)
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import MessageRegistry
from cqrs.requests import bootstrap

TEST_TIMEOUT = 30.0  # seconds any one test may take (the load test has its own bound)
TEARDOWN_TIMEOUT = 10.0

# --- the application: a command whose handler raises notification events ------------

NAMESPACE = uuid.UUID("6a1f8d2e-3b4c-4d5e-8f90-a1b2c3d4e5f6")


class OrderPayload(pydantic.BaseModel):
    order_id: str
    amount: int
    placed_at: datetime.datetime


class OrderPlaced(cqrs.NotificationEvent[OrderPayload], frozen=True):
    pass


class Placed(cqrs.Response):
    events: list[OrderPlaced]


class PlaceOrders(cqrs.Request[Placed]):
    topic: str
    count: int = 1
    batch: int = 0


def event_id_for(topic: str, batch: int, index: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{topic}/{batch}/{index}")


class PlaceOrdersHandler(cqrs.RequestHandler[PlaceOrders, Placed]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: PlaceOrders) -> Placed:
        events = [
            OrderPlaced(
                event_id=event_id_for(request.topic, request.batch, index),
                event_name="order.placed",
                topic=request.topic,
                payload=OrderPayload(
                    order_id=f"{request.batch}-{index}",
                    amount=index,
                    placed_at=datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc),
                ),
            )
            for index in range(request.count)
        ]
        self._events.extend(events)
        return Placed(events=events)


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(PlaceOrders, PlaceOrdersHandler)


def mediator_over(
    broker: FastStreamMessageBroker, *, propagate: bool = True, limit: int = 1
) -> cqrs.RequestMediator:
    return bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        message_broker=broker,
        propagate_event_errors=propagate,
        max_concurrent_event_handlers=limit,
    )


REGISTRY = MessageRegistry(OrderPlaced)


def check_wire(body: bytes, headers: dict[str, str], event: OrderPlaced) -> None:
    """The body is the event's to_dict() as JSON; the cqrs headers name and date it."""
    assert json.loads(body) == event.to_dict()
    assert headers["content-type"] == "application/json"
    assert headers["cqrs-message-name"] == "OrderPlaced"
    assert headers["cqrs-message-id"] == str(event.event_id)
    assert headers["cqrs-wire-version"] == "1"
    sent_at = datetime.datetime.fromisoformat(headers["cqrs-timestamp"])
    assert abs(datetime.datetime.now(datetime.timezone.utc) - sent_at) < datetime.timedelta(
        seconds=TEST_TIMEOUT
    )
    assert REGISTRY.decode(body, headers) == event


def text(headers: Any) -> dict[str, str]:
    """Headers from any client as text (Kafka: a list of (str, bytes) pairs)."""
    pairs = headers.items() if hasattr(headers, "items") else headers
    return {
        key: value.decode() if isinstance(value, bytes | bytearray) else str(value)
        for key, value in pairs
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_state(pid: int) -> str:
    """The state letter Linux reports for a process (T: stopped), for failure messages."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError as error:
        return f"unknown ({error})"
    return stat.rpartition(")")[2].split()[0]


@contextlib.asynccontextmanager
async def bounded_teardown() -> AsyncIterator[None]:
    with anyio.fail_after(TEARDOWN_TIMEOUT, shield=True):
        yield


# --- RabbitMQ -----------------------------------------------------------------------


@pytest.fixture
async def amqp(rabbitmq_url: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """An aio-pika channel: the independent reader."""
    connection = await aio_pika.connect_robust(rabbitmq_url)
    try:
        yield await connection.channel()
    finally:
        async with bounded_teardown():
            await connection.close()


@pytest.fixture
async def rabbit_queue(
    amqp: aio_pika.abc.AbstractChannel, unique: str
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    queue = await amqp.declare_queue(unique, durable=True)
    try:
        yield queue
    finally:
        async with bounded_teardown():
            await queue.delete(if_unused=False, if_empty=False)


@pytest.fixture
async def rabbit_broker(rabbitmq_url: str) -> AsyncIterator[RabbitBroker]:
    broker = RabbitBroker(rabbitmq_url)
    await broker.connect()
    try:
        yield broker
    finally:
        async with bounded_teardown():
            await broker.stop()


async def test_rabbit_default_exchange_through_the_mediator(
    rabbit_broker: RabbitBroker, rabbit_queue: aio_pika.abc.AbstractQueue, unique: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        mediator = mediator_over(FastStreamMessageBroker(rabbit_broker))
        placed = await mediator.send(PlaceOrders(topic=unique))
        (event,) = placed.events
        # send() returned after the publisher confirm: the message is already queued.
        message = await rabbit_queue.get(timeout=5, no_ack=True)

    assert message.routing_key == unique
    assert message.exchange == ""
    assert message.content_type == "application/json"
    assert message.message_id == str(event.event_id)
    assert message.correlation_id == str(event.event_id)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.timestamp is not None
    # AMQP timestamps have whole seconds; the cqrs-timestamp header keeps the microseconds.
    headers = text(message.headers)
    assert abs(
        message.timestamp - datetime.datetime.fromisoformat(headers["cqrs-timestamp"])
    ) < datetime.timedelta(seconds=1)
    assert set(headers) == {
        "content-type",
        "cqrs-message-name",
        "cqrs-message-id",
        "cqrs-timestamp",
        "cqrs-wire-version",
    }
    check_wire(message.body, headers, event)
    assert await rabbit_queue.get(fail=False, timeout=5) is None  # exactly one


@pytest.mark.parametrize("exchange_kind", ["name", "RabbitExchange"])
async def test_rabbit_named_direct_exchange(
    rabbit_broker: RabbitBroker,
    rabbit_queue: aio_pika.abc.AbstractQueue,
    amqp: aio_pika.abc.AbstractChannel,
    unique: str,
    exchange_kind: str,
) -> None:
    exchange_name = f"{unique}-exchange"
    topic = f"{unique}.orders"
    exchange = await amqp.declare_exchange(exchange_name, aio_pika.ExchangeType.DIRECT)
    try:
        await rabbit_queue.bind(exchange, routing_key=topic)
        target: str | RabbitExchange = (
            exchange_name
            if exchange_kind == "name"
            else RabbitExchange(exchange_name, type=ExchangeType.DIRECT, declare=False)
        )
        adapter = FastStreamMessageBroker(rabbit_broker, exchange=target)
        assert (
            repr(adapter) == f"FastStreamMessageBroker(RabbitBroker (exchange {exchange_name!r}))"
        )
        with anyio.fail_after(TEST_TIMEOUT):
            placed = await mediator_over(adapter).send(PlaceOrders(topic=topic))
            message = await rabbit_queue.get(timeout=5, no_ack=True)
    finally:
        async with bounded_teardown():
            await exchange.delete()

    (event,) = placed.events
    assert message.exchange == exchange_name
    assert message.routing_key == topic
    assert message.content_type == "application/json"
    assert message.message_id == str(event.event_id)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    check_wire(message.body, text(message.headers), event)


async def test_rabbit_persist_false_is_transient(
    rabbit_broker: RabbitBroker, rabbit_queue: aio_pika.abc.AbstractQueue, unique: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        adapter = FastStreamMessageBroker(rabbit_broker, persist=False)
        await adapter.send_message(Message(message_name="Ping", topic=unique, payload={"n": 1}))
        message = await rabbit_queue.get(timeout=5, no_ack=True)
    assert message.delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    assert message.body == b'{"n":1}'
    assert text(message.headers)["cqrs-message-name"] == "Ping"


async def test_rabbit_unroutable_message_with_on_return_raises(
    rabbitmq_url: str, unique: str
) -> None:
    # No queue is named like the topic: the default exchange returns the mandatory
    # message, and a channel with on_return_raises turns the return into an error.
    broker = RabbitBroker(rabbitmq_url, default_channel=Channel(on_return_raises=True))
    try:
        with anyio.fail_after(TEST_TIMEOUT):
            await broker.connect()
            mediator = mediator_over(FastStreamMessageBroker(broker, publish_timeout=5))
            with pytest.raises(MessageBrokerError) as caught:
                await mediator.send(PlaceOrders(topic=f"{unique}-nowhere"))
    finally:
        async with bounded_teardown():
            await broker.stop()
    error = caught.value
    assert not isinstance(error, PublishTimeoutError)
    assert "RabbitBroker refused OrderPlaced" in str(error)
    assert f"{unique}-nowhere" in str(error)
    assert "NO_ROUTE" in str(error)
    assert isinstance(error.__cause__, aio_pika.exceptions.DeliveryError)


async def test_rabbit_unroutable_message_on_the_default_channel_is_not_reported(
    rabbit_broker: RabbitBroker, unique: str
) -> None:
    # Documents FastStream's default (Channel(on_return_raises=False)): RabbitMQ confirms
    # an unroutable mandatory message after returning it, and the publish succeeds.
    # The message is gone; pass default_channel=Channel(on_return_raises=True) to see it.
    with anyio.fail_after(TEST_TIMEOUT):
        mediator = mediator_over(FastStreamMessageBroker(rabbit_broker, publish_timeout=5))
        placed = await mediator.send(PlaceOrders(topic=f"{unique}-nowhere"))
    assert len(placed.events) == 1


# --- NATS ---------------------------------------------------------------------------


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[nats.NATS]:
    client = await nats.connect(nats_url)
    try:
        yield client
    finally:
        async with bounded_teardown():
            await client.close()


@pytest.fixture
async def nats_broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    broker = NatsBroker(nats_url)
    await broker.connect()
    try:
        yield broker
    finally:
        async with bounded_teardown():
            await broker.stop()


async def test_nats_core_through_the_mediator(
    nats_broker: NatsBroker, nats_client: nats.NATS, unique: str
) -> None:
    received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def on_message(msg: Any) -> None:
        if not received.done():
            received.set_result(msg)

    with anyio.fail_after(TEST_TIMEOUT):
        subscription = await nats_client.subscribe(unique, cb=on_message)
        try:
            await nats_client.flush()  # the subscription is registered with the server
            placed = await mediator_over(FastStreamMessageBroker(nats_broker)).send(
                PlaceOrders(topic=unique)
            )
            # Core NATS publishes are buffered by the client: a PING/PONG round trip on
            # the publishing connection means the server has routed the message (and
            # shows a broken connection as an error here, not as a silent timeout).
            await nats_broker.connection.flush(timeout=10)
            msg = await received
        finally:
            await subscription.unsubscribe()

    (event,) = placed.events
    assert msg.subject == unique
    headers = text(msg.headers)
    assert headers.pop("correlation_id") == str(event.event_id)  # added by FastStream
    assert set(headers) == {
        "content-type",
        "cqrs-message-name",
        "cqrs-message-id",
        "cqrs-timestamp",
        "cqrs-wire-version",
    }
    check_wire(msg.data, headers, event)


@pytest.fixture
async def jetstream_stream(nats_client: nats.NATS, unique: str) -> AsyncIterator[str]:
    """A stream named `unique` over the subject `unique`; deleted afterwards."""
    manager = nats_client.jetstream()
    await manager.add_stream(name=unique, subjects=[unique])
    try:
        yield unique
    finally:
        async with bounded_teardown():
            await manager.delete_stream(unique)


async def test_nats_jetstream_through_the_mediator(
    nats_broker: NatsBroker, nats_client: nats.NATS, jetstream_stream: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        adapter = FastStreamMessageBroker(nats_broker, stream=jetstream_stream)
        placed = await mediator_over(adapter).send(PlaceOrders(topic=jetstream_stream))
        # The stream acknowledged the publish before send() returned: it is stored.
        js = nats_client.jetstream()
        info = await js.stream_info(jetstream_stream)
        assert info.state.messages == 1
        consumer = await js.pull_subscribe(jetstream_stream, stream=jetstream_stream)
        try:
            (msg,) = await consumer.fetch(1, timeout=5)
            await msg.ack()
        finally:
            await consumer.unsubscribe()

    (event,) = placed.events
    assert msg.metadata.stream == jetstream_stream
    assert msg.metadata.sequence.stream == 1
    headers = text(msg.headers)
    assert headers.pop("correlation_id") == str(event.event_id)
    assert headers.pop("Nats-Expected-Stream") == jetstream_stream
    check_wire(msg.data, headers, event)


async def test_nats_jetstream_subject_without_stream_is_refused(
    nats_broker: NatsBroker, unique: str
) -> None:
    # No stream captures the subject: JetStream never acknowledges it.
    adapter = FastStreamMessageBroker(nats_broker, stream=unique, publish_timeout=5)
    with anyio.fail_after(TEST_TIMEOUT), pytest.raises(MessageBrokerError) as caught:
        await mediator_over(adapter).send(PlaceOrders(topic=unique))
    assert "NatsBroker refused OrderPlaced" in str(caught.value)


# --- Redis --------------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str, unique: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    try:
        yield client
    finally:
        async with bounded_teardown():
            keys = [key async for key in client.scan_iter(match=f"{unique}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@pytest.fixture
async def redis_broker(redis_url: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(redis_url)
    await broker.connect()
    try:
        yield broker
    finally:
        async with bounded_teardown():
            await broker.stop()


def unwrap_redis(raw: bytes) -> tuple[bytes, dict[str, str]]:
    """What a non-FastStream reader must do: strip FastStream's binary envelope."""
    assert raw.startswith(BinaryMessageFormatV1.IDENTITY_HEADER)
    body, headers = BinaryMessageFormatV1.parse(raw)
    return body, text(headers)


def check_redis_envelope(raw: bytes, event: OrderPlaced) -> None:
    # The raw value is not the wire body, not even UTF-8 text: JSON readers (and
    # MessageRegistry) reject it.
    with pytest.raises(UnicodeDecodeError):
        raw.decode()
    with pytest.raises(ValueError):  # json.loads raises UnicodeDecodeError on these bytes
        json.loads(raw)
    with pytest.raises(MessageDecodeError, match="not JSON"):
        REGISTRY.decode(raw)
    # The JSON body is there, verbatim, after the headers.
    assert raw.endswith(json.dumps(event.to_dict(), separators=(",", ":")).encode())
    body, headers = unwrap_redis(raw)
    assert headers.pop("correlation_id") == str(event.event_id)
    assert set(headers) == {
        "content-type",
        "cqrs-message-name",
        "cqrs-message-id",
        "cqrs-timestamp",
        "cqrs-wire-version",
    }
    check_wire(body, headers, event)


async def test_redis_channel_through_the_mediator(
    redis_broker: RedisBroker, redis_client: aioredis.Redis, unique: str
) -> None:
    pubsub = redis_client.pubsub()
    try:
        with anyio.fail_after(TEST_TIMEOUT):
            await pubsub.subscribe(unique)
            confirmation = await pubsub.get_message(timeout=5)
            assert confirmation is not None
            assert confirmation["type"] == "subscribe"
            placed = await mediator_over(FastStreamMessageBroker(redis_broker)).send(
                PlaceOrders(topic=unique)
            )
            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
    finally:
        async with bounded_teardown():
            await pubsub.unsubscribe()
            await pubsub.aclose()
    (event,) = placed.events
    assert message["channel"] == unique.encode()
    check_redis_envelope(message["data"], event)


async def test_redis_stream_through_the_mediator(
    redis_broker: RedisBroker, redis_client: aioredis.Redis, unique: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        adapter = FastStreamMessageBroker(redis_broker, target="stream")
        placed = await mediator_over(adapter).send(PlaceOrders(topic=unique))
        entries = await redis_client.xrange(unique)
    (event,) = placed.events
    ((_entry_id, fields),) = entries
    # One field, FastStream's `__data__`, holding the envelope.
    assert set(fields) == {b"__data__"}
    check_redis_envelope(fields[b"__data__"], event)


async def test_redis_list_through_the_mediator(
    redis_broker: RedisBroker, redis_client: aioredis.Redis, unique: str
) -> None:
    with anyio.fail_after(TEST_TIMEOUT):
        adapter = FastStreamMessageBroker(redis_broker, target="list")
        placed = await mediator_over(adapter).send(PlaceOrders(topic=unique, count=2))
        elements = await redis_client.lrange(unique, 0, -1)
        first = await redis_client.lpop(unique)
    assert len(elements) == 2
    assert first == elements[0]  # RPUSH: the first event raised is the first popped
    for raw, event in zip(elements, placed.events, strict=True):
        check_redis_envelope(raw, event)


async def test_redis_list_read_by_a_faststream_subscriber(
    redis_url: str, redis_client: aioredis.Redis, unique: str
) -> None:
    # A FastStream reader unwraps the envelope itself: body and headers as published.
    broker = RedisBroker(redis_url)
    received: asyncio.Future[tuple[Any, bytes, dict[str, Any]]] = (
        asyncio.get_running_loop().create_future()
    )

    @broker.subscriber(list=unique)
    async def on_event(body: dict[str, Any], msg: RedisMessage) -> None:
        if not received.done():
            received.set_result((body, msg.body, dict(msg.headers)))

    try:
        with anyio.fail_after(TEST_TIMEOUT):
            await broker.start()
            adapter = FastStreamMessageBroker(broker, target="list")
            placed = await mediator_over(adapter).send(PlaceOrders(topic=unique))
            decoded, body, headers = await received
    finally:
        async with bounded_teardown():
            await broker.stop()
    (event,) = placed.events
    assert decoded == event.to_dict()
    assert headers.pop("correlation_id") == str(event.event_id)
    check_wire(body, text(headers), event)


async def test_redis_closed_port_is_a_broker_error(caplog: pytest.LogCaptureFixture) -> None:
    # redis-py connects lazily: connect() succeeds, the publish fails.
    broker = RedisBroker(f"redis://127.0.0.1:{closed_port()}")
    await broker.connect()
    try:
        adapter = FastStreamMessageBroker(broker, publish_timeout=5)
        with anyio.fail_after(TEST_TIMEOUT):
            with pytest.raises(MessageBrokerError) as caught:
                await mediator_over(adapter).send(PlaceOrders(topic="cqrs-test-closed"))
            assert "RedisBroker refused OrderPlaced" in str(caught.value)
            assert "ConnectionError" in str(caught.value)
            assert isinstance(caught.value.__cause__, redis.exceptions.ConnectionError)

            with caplog.at_level(logging.ERROR, logger="cqrs"):
                placed = await mediator_over(adapter, propagate=False).send(
                    PlaceOrders(topic="cqrs-test-closed")
                )
    finally:
        async with bounded_teardown():
            await broker.stop()
    assert len(placed.events) == 1
    (record,) = [r for r in caplog.records if r.name == "cqrs"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], MessageBrokerError)
    assert "OrderPlaced" in record.getMessage()


# --- Kafka --------------------------------------------------------------------------


@pytest.fixture
async def kafka_topic(kafka_server: Any, unique: str) -> AsyncIterator[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_server.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique, num_partitions=1, replication_factor=1)])
        yield unique
    finally:
        async with bounded_teardown():
            with contextlib.suppress(Exception):
                await admin.delete_topics([unique])
            await admin.close()


async def test_kafka_through_the_mediator(kafka_server: Any, kafka_topic: str) -> None:
    broker = KafkaBroker(kafka_server.bootstrap)
    consumer = AIOKafkaConsumer(
        kafka_topic,
        bootstrap_servers=kafka_server.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        with anyio.fail_after(TEST_TIMEOUT):
            await broker.connect()
            placed = await mediator_over(FastStreamMessageBroker(broker)).send(
                PlaceOrders(topic=kafka_topic)
            )
            await consumer.start()
            record = await consumer.getone()
    finally:
        async with bounded_teardown():
            await consumer.stop()
            await broker.stop()
    (event,) = placed.events
    assert record.topic == kafka_topic
    assert record.key is None
    assert all(isinstance(value, bytes) for _, value in record.headers)
    names = [name for name, _ in record.headers]
    assert len(names) == len(set(names))  # one content-type: ours replaced FastStream's
    headers = text(record.headers)
    assert headers.pop("correlation_id") == str(event.event_id)
    check_wire(record.value, headers, event)
    # A consumer can hand Kafka's bytes headers to the registry as they are.
    assert REGISTRY.decode(record.value, dict(record.headers)) == event


async def test_kafka_paused_server_is_a_publish_timeout(own_kafka_server: Any, unique: str) -> None:
    broker = KafkaBroker(own_kafka_server.bootstrap)
    adapter = FastStreamMessageBroker(broker, publish_timeout=0.5)
    mediator = mediator_over(adapter)
    try:
        with anyio.fail_after(TEST_TIMEOUT):
            await broker.connect()
            await mediator.send(PlaceOrders(topic=unique))  # warm: metadata known
            # The fixture's server must be the one answering: if its process exited
            # (say, the port it was given was taken meanwhile), pausing it proves nothing.
            exit_code = own_kafka_server.process.poll()
            assert exit_code is None, (
                f"own_kafka_server's Tansu exited ({exit_code}) but something answers on "
                f"{own_kafka_server.bootstrap}: another process's server"
            )
            own_kafka_server.pause()
            started = time.monotonic()
            try:
                await mediator.send(PlaceOrders(topic=unique, batch=1))
            except PublishTimeoutError as raised:
                error = raised
            else:
                pytest.fail(
                    f"a paused server confirmed a publish (Tansu pid "
                    f"{own_kafka_server.process.pid}: {process_state(own_kafka_server.process.pid)})"
                )
            elapsed = time.monotonic() - started
    finally:
        own_kafka_server.resume()
        async with bounded_teardown():
            await broker.stop()
    assert 0.45 <= elapsed < 3.0
    assert isinstance(error, MessageBrokerError)
    assert isinstance(error, TimeoutError)
    assert "KafkaBroker did not confirm OrderPlaced" in str(error)
    assert "within 0.5 s" in str(error)
    assert str(event_id_for(unique, 1, 0)) in str(error)


async def test_kafka_in_memory_test_broker() -> None:
    broker = KafkaBroker()
    received: list[tuple[Any, bytes, dict[str, Any]]] = []

    @broker.subscriber("cqrs-orders")
    async def on_event(body: dict[str, Any], msg: KafkaMessage) -> None:
        received.append((body, msg.body, dict(msg.headers)))

    with anyio.fail_after(TEST_TIMEOUT):
        async with TestKafkaBroker(broker) as test_broker:
            adapter = FastStreamMessageBroker(test_broker)
            placed = await mediator_over(adapter).send(PlaceOrders(topic="cqrs-orders"))
    # The in-memory broker runs the subscriber inside publish().
    (event,) = placed.events
    ((decoded, body, headers),) = received
    assert decoded == event.to_dict()
    assert headers.pop("correlation_id") == str(event.event_id)
    check_wire(body, text(headers), event)


# --- failures that need no server ---------------------------------------------------

NOT_CONNECTED: dict[str, Callable[[], Any]] = {
    "rabbit": lambda: RabbitBroker(f"amqp://guest:guest@127.0.0.1:{closed_port()}/"),
    "kafka": lambda: KafkaBroker(f"127.0.0.1:{closed_port()}"),
    "nats": lambda: NatsBroker(f"nats://127.0.0.1:{closed_port()}"),
    "redis": lambda: RedisBroker(f"redis://127.0.0.1:{closed_port()}"),
}


@pytest.mark.parametrize("family", sorted(NOT_CONNECTED))
async def test_not_connected_broker_with_propagate_raises_naming_broker_and_event(
    family: str,
) -> None:
    broker = NOT_CONNECTED[family]()
    mediator = mediator_over(FastStreamMessageBroker(broker, publish_timeout=5))
    with anyio.fail_after(TEST_TIMEOUT), pytest.raises(MessageBrokerError) as caught:
        await mediator.send(PlaceOrders(topic="cqrs-test-never"))
    message = str(caught.value)
    assert f"{type(broker).__name__} refused OrderPlaced" in message
    assert "'cqrs-test-never'" in message
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("family", sorted(NOT_CONNECTED))
async def test_not_connected_broker_by_default_logs_and_returns_the_response(
    family: str, caplog: pytest.LogCaptureFixture
) -> None:
    broker = NOT_CONNECTED[family]()
    mediator = mediator_over(FastStreamMessageBroker(broker, publish_timeout=5), propagate=False)
    with anyio.fail_after(TEST_TIMEOUT), caplog.at_level(logging.ERROR, logger="cqrs"):
        placed = await mediator.send(PlaceOrders(topic="cqrs-test-never", count=2))
    assert [event.payload.amount for event in placed.events] == [0, 1]
    records = [r for r in caplog.records if r.name == "cqrs"]
    assert len(records) == 2  # one per event
    for record in records:
        assert record.levelno == logging.ERROR
        assert "FastStreamMessageBroker" in record.getMessage()
        assert "OrderPlaced" in record.getMessage()
        assert record.exc_info is not None
        error = record.exc_info[1]
        assert isinstance(error, MessageBrokerError)
        assert f"{type(broker).__name__} refused OrderPlaced" in str(error)


@pytest.mark.parametrize("timeout", [0, 0.0, -1, math.nan, math.inf, -math.inf])
def test_invalid_publish_timeout(timeout: float) -> None:
    with pytest.raises(InvalidConfigurationError, match="publish_timeout must be a positive"):
        FastStreamMessageBroker(RabbitBroker(), publish_timeout=timeout)


def test_publish_timeout_and_repr() -> None:
    adapter = FastStreamMessageBroker(KafkaBroker(), publish_timeout=0.5)
    assert adapter.publish_timeout == 0.5
    assert repr(adapter) == "FastStreamMessageBroker(KafkaBroker)"
    assert FastStreamMessageBroker(NatsBroker()).publish_timeout == 10.0


def test_invalid_redis_target() -> None:
    with pytest.raises(InvalidConfigurationError, match="target must be"):
        FastStreamMessageBroker(RedisBroker(), target="queue")  # type: ignore[call-overload]


class NotABroker:
    async def publish(self, *args: Any, **kwargs: Any) -> None:
        """Looks like a broker, but is not FastStream's."""


@pytest.mark.parametrize(
    "candidate",
    [NotABroker(), object(), "amqp://guest:guest@127.0.0.1:5672/", None],
    ids=["lookalike", "object", "url", "none"],
)
def test_a_non_faststream_object_is_a_type_error(candidate: Any) -> None:
    with pytest.raises(TypeError, match="FastStreamMessageBroker takes a FastStream broker"):
        FastStreamMessageBroker(candidate)


def test_a_faststream_object_that_is_not_a_broker_is_a_type_error() -> None:
    app = FastStream(RabbitBroker())
    with pytest.raises(TypeError, match="FastStream"):
        FastStreamMessageBroker(app)  # type: ignore[call-overload]


# --- load ---------------------------------------------------------------------------

LOAD_SENDS = 50
LOAD_EVENTS_PER_SEND = 200
LOAD_TIMEOUT = 60.0


async def test_rabbit_load_10000_events_from_50_concurrent_sends_arrive_exactly_once(
    rabbit_broker: RabbitBroker,
    rabbit_queue: aio_pika.abc.AbstractQueue,
    amqp: aio_pika.abc.AbstractChannel,
    unique: str,
) -> None:
    total = LOAD_SENDS * LOAD_EVENTS_PER_SEND
    expected = {
        str(event_id_for(unique, batch, index))
        for batch in range(LOAD_SENDS)
        for index in range(LOAD_EVENTS_PER_SEND)
    }
    assert len(expected) == total
    mediator = mediator_over(FastStreamMessageBroker(rabbit_broker), limit=LOAD_SENDS)
    seen: list[str] = []
    all_read = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        seen.append(text(message.headers)["cqrs-message-id"])
        if json.loads(message.body)["event_id"] != seen[-1]:
            seen.append("body and header disagree")
        if len(seen) >= total:
            all_read.set()

    started = time.monotonic()
    with anyio.fail_after(LOAD_TIMEOUT):
        responses = await asyncio.gather(
            *(
                mediator.send(PlaceOrders(topic=unique, count=LOAD_EVENTS_PER_SEND, batch=batch))
                for batch in range(LOAD_SENDS)
            )
        )
        published_in = time.monotonic() - started
        # Every publish was confirmed: the queue holds each message once, now. (Declare
        # again for the count: aio-pika's robust channel caches passive declarations.)
        queued = await rabbit_queue.declare()
        assert queued.message_count == total

        await amqp.set_qos(prefetch_count=1000)
        tag = await rabbit_queue.consume(on_message, no_ack=True)
        try:
            await all_read.wait()
        finally:
            await rabbit_queue.cancel(tag)
        drained = await rabbit_queue.declare()
    elapsed = time.monotonic() - started

    assert sum(len(response.events) for response in responses) == total
    lost = expected - set(seen)
    duplicated = len(seen) - len(set(seen))
    assert (len(lost), duplicated) == (0, 0)
    assert set(seen) == expected
    assert drained.message_count == 0
    print(f"\nload: {total} events published in {published_in:.2f} s, read back in {elapsed:.2f} s")
