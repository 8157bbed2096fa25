"""The python-cqrs broker names (`KafkaMessageBroker`, `AMQPMessageBroker`) on real servers.

RabbitMQ (`rabbitmq_url`) and a Kafka-compatible broker (Tansu: `kafka_server`, and
`own_kafka_server` for the tests that kill or freeze it). Each message is read back by
an independent client (aio-pika, aiokafka) and compared with the event: the body is the
event's `to_dict()` as JSON, as python-cqrs publishes it, plus our `cqrs-*` headers.
Every wait is bounded; nothing sleeps to let something happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aio_pika
import aio_pika.abc
import aiokafka
import anyio
import di
import pydantic
import pytest

import cqrs
from cqrs.adapters import amqp as amqp_adapter
from cqrs.adapters.amqp import AMQPPublisher, amqp_publisher_factory
from cqrs.adapters.kafka import KafkaProducer, kafka_producer_factory
from cqrs.exceptions import InvalidConfigurationError, MessageBrokerError, PublishTimeoutError
from cqrs.message_brokers.amqp import AMQPMessageBroker
from cqrs.message_brokers.kafka import KafkaMessageBroker
from cqrs.message_brokers.protocol import Message
from cqrs.requests import bootstrap

LIMIT = 20.0  # seconds any single wait in these tests may take
SHORT_TIMEOUT = 0.5  # the publish_timeout of the hanging-broker tests


# --- the command, its handler and the event it raises -------------------------------


class Placed(pydantic.BaseModel):
    order_id: str
    amount: int


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    pass


class Place(cqrs.Request[None]):
    event: OrderPlaced


class PlaceHandler(cqrs.RequestHandler[Place, None]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Place) -> None:
        self._events.append(request.event)


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Place, PlaceHandler)


def mediator(broker: cqrs.message_brokers.MessageBroker, **kwargs: Any) -> cqrs.RequestMediator:
    return bootstrap.bootstrap(
        di_container=di.Container(), commands_mapper=commands, message_broker=broker, **kwargs
    )


def placed(topic: str, order_id: str = "o-1") -> OrderPlaced:
    return OrderPlaced(
        event_name="order_placed", topic=topic, payload=Placed(order_id=order_id, amount=3)
    )


def message(topic: str) -> Message:
    event = placed(topic)
    return Message(
        message_name="OrderPlaced", message_id=event.event_id, topic=topic, payload=event.to_dict()
    )


def assert_wire_headers(headers: dict[str, str], event: OrderPlaced) -> None:
    assert headers["content-type"] == "application/json"
    assert headers["cqrs-message-name"] == "OrderPlaced"
    assert headers["cqrs-message-id"] == str(event.event_id)
    assert headers["cqrs-wire-version"] == "1"
    stamp = datetime.datetime.fromisoformat(headers["cqrs-timestamp"])
    assert abs(datetime.datetime.now(datetime.timezone.utc) - stamp) < datetime.timedelta(minutes=5)


def failure_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "cqrs"
        and record.levelno == logging.ERROR
        and record.exc_info is not None
        and isinstance(record.exc_info[1], MessageBrokerError)
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- no server needed ----------------------------------------------------------------


class RecordingProducer:
    """A user's own producer: only the protocol's `produce`."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, dict[str, str] | None]] = []

    async def produce(
        self, topic: str, message: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.records.append((topic, message, headers))


class RecordingPublisher:
    """A user's own AMQP publisher: only the protocol's `publish`."""

    def __init__(self) -> None:
        self.published: list[tuple[aio_pika.abc.AbstractMessage, str, str]] = []

    async def publish(
        self, message: aio_pika.abc.AbstractMessage, queue_name: str, exchange_name: str
    ) -> None:
        self.published.append((message, queue_name, exchange_name))


async def test_kafka_broker_hands_the_wire_body_and_headers_to_any_producer() -> None:
    producer = RecordingProducer()
    sent = message("orders")

    await KafkaMessageBroker(producer).send_message(sent)

    [(topic, body, headers)] = producer.records
    assert topic == "orders"
    assert json.loads(body) == sent.payload
    assert headers is not None
    assert headers["cqrs-message-id"] == str(sent.message_id)


async def test_amqp_broker_hands_a_persistent_json_message_to_any_publisher() -> None:
    publisher = RecordingPublisher()
    sent = message("orders")

    await AMQPMessageBroker(publisher, "shop").send_message(sent)

    [(amqp_message, queue_name, exchange_name)] = publisher.published
    assert (queue_name, exchange_name) == ("orders", "shop")
    assert json.loads(amqp_message.body) == sent.payload
    assert amqp_message.content_type == "application/json"
    assert amqp_message.message_id == str(sent.message_id)
    assert amqp_message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert amqp_message.headers["cqrs-message-name"] == "OrderPlaced"


class FailingProducer:
    async def produce(
        self, topic: str, message: bytes, headers: dict[str, str] | None = None
    ) -> None:
        raise ConnectionResetError("the cluster went away")


class HangingPublisher:
    def __init__(self) -> None:
        self.cancelled = False

    async def publish(
        self, message: aio_pika.abc.AbstractMessage, queue_name: str, exchange_name: str
    ) -> None:
        try:
            await asyncio.Event().wait()  # never confirmed
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def test_a_producer_failure_is_a_message_broker_error_naming_broker_and_message() -> None:
    sent = message("orders")

    with pytest.raises(MessageBrokerError) as raised:
        await KafkaMessageBroker(FailingProducer()).send_message(sent)

    text = str(raised.value)
    assert "KafkaMessageBroker" in text
    assert f"OrderPlaced {sent.message_id}" in text
    assert "ConnectionResetError: the cluster went away" in text
    assert isinstance(raised.value.__cause__, ConnectionResetError)


async def test_a_publish_that_is_never_confirmed_times_out() -> None:
    publisher = HangingPublisher()
    broker = AMQPMessageBroker(publisher, "shop", publish_timeout=SHORT_TIMEOUT)

    started = time.monotonic()
    with pytest.raises(PublishTimeoutError) as raised:
        await broker.send_message(message("orders"))

    assert time.monotonic() - started < SHORT_TIMEOUT + 2
    assert f"within {SHORT_TIMEOUT} s" in str(raised.value)
    assert "exchange 'shop'" in str(raised.value)
    assert publisher.cancelled


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan")])
def test_publish_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(InvalidConfigurationError, match="publish_timeout"):
        KafkaMessageBroker(RecordingProducer(), publish_timeout=timeout)
    with pytest.raises(InvalidConfigurationError, match="publish_timeout"):
        AMQPMessageBroker(RecordingPublisher(), "shop", publish_timeout=timeout)


def test_retry_count_is_a_number_of_attempts() -> None:
    with pytest.raises(InvalidConfigurationError, match="retry_count"):
        kafka_producer_factory("127.0.0.1:9092", retry_count=0)
    with pytest.raises(InvalidConfigurationError, match="retry_delay"):
        kafka_producer_factory("127.0.0.1:9092", retry_delay=-1)
    with pytest.raises(InvalidConfigurationError, match="max_channel_pool_size"):
        amqp_publisher_factory("amqp://127.0.0.1/", max_channel_pool_size=0)


def test_the_factories_need_no_event_loop() -> None:
    # python-cqrs's factories call asyncio.get_event_loop(), which raises in a thread
    # without a loop: ours build nothing that needs one.
    built: list[object] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            built.append(kafka_producer_factory("127.0.0.1:9092"))
            built.append(amqp_publisher_factory("amqp://guest:guest@127.0.0.1:5672/"))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=build)
    thread.start()
    thread.join(timeout=LIMIT)

    assert errors == []
    assert [type(b) for b in built] == [KafkaProducer, AMQPPublisher]


def test_the_repr_hides_the_amqp_password() -> None:
    broker = AMQPMessageBroker(amqp_publisher_factory("amqp://user:secret@rabbit:5672/prod"), "x")

    assert "secret" not in repr(broker)
    assert "rabbit:5672/prod" in repr(broker)


# --- Kafka (Tansu) -------------------------------------------------------------------


async def read_kafka(bootstrap_servers: str, topic: str, count: int) -> list[Any]:
    """Read `count` records of `topic` from the beginning, with an independent consumer."""
    consumer = aiokafka.AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[Any] = []
    with anyio.fail_after(LIMIT):
        await consumer.start()
        try:
            while len(records) < count:
                batches = await consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    records.extend(batch)
        finally:
            await consumer.stop()
    return records


def kafka_headers(record: Any) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


@pytest.fixture
async def kafka_producers() -> AsyncIterator[list[KafkaProducer]]:
    """Producers the test makes; each is stopped afterwards."""
    producers: list[KafkaProducer] = []
    yield producers
    with anyio.fail_after(LIMIT):
        for producer in producers:
            await producer.stop()


async def test_kafka_mediator_publishes_the_event_in_the_wire_format(
    kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    producer = kafka_producer_factory(kafka_server.bootstrap, retry_delay=0)
    kafka_producers.append(producer)
    event = placed(unique)

    with anyio.fail_after(LIMIT):
        await mediator(KafkaMessageBroker(producer), propagate_event_errors=True).send(
            Place(event=event)
        )

    [record] = await read_kafka(kafka_server.bootstrap, unique, 1)
    assert json.loads(record.value) == event.to_dict()
    assert json.loads(record.value)["payload"] == {"order_id": "o-1", "amount": 3}
    assert_wire_headers(kafka_headers(record), event)


async def test_kafka_producer_starts_once_for_concurrent_first_calls(
    kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    starts = 0

    def build() -> aiokafka.AIOKafkaProducer:
        client = aiokafka.AIOKafkaProducer(bootstrap_servers=kafka_server.bootstrap)
        start = client.start

        async def counted_start() -> None:
            nonlocal starts
            starts += 1
            await start()

        client.start = counted_start
        return client

    producer = KafkaProducer(build, retry_delay=0)
    kafka_producers.append(producer)
    broker = KafkaMessageBroker(producer)
    sent = [message(unique) for _ in range(5)]

    with anyio.fail_after(LIMIT):
        await asyncio.gather(*(broker.send_message(m) for m in sent))

    assert starts == 1
    records = await read_kafka(kafka_server.bootstrap, unique, len(sent))
    assert sorted(kafka_headers(r)["cqrs-message-id"] for r in records) == sorted(
        str(m.message_id) for m in sent
    )


async def test_a_stopped_kafka_producer_starts_again(
    kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    producer = kafka_producer_factory(kafka_server.bootstrap, retry_delay=0)
    kafka_producers.append(producer)

    with anyio.fail_after(LIMIT):
        await producer.produce(unique, b'{"n": 1}')
        await producer.stop()
        await producer.produce(unique, b'{"n": 2}', headers={"h": "v"})

    records = await read_kafka(kafka_server.bootstrap, unique, 2)
    assert sorted(json.loads(r.value)["n"] for r in records) == [1, 2]


async def test_kafka_producer_serializes_values_that_are_not_bytes(
    kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    # python-cqrs's value_serializer; an untyped caller may pass a dict.
    plain = kafka_producer_factory(kafka_server.bootstrap)
    custom = kafka_producer_factory(
        kafka_server.bootstrap, value_serializer=lambda value: repr(value).encode()
    )
    kafka_producers.extend((plain, custom))
    value: Any = {"n": 1}

    with anyio.fail_after(LIMIT):
        await plain.produce(unique, value)
        await custom.produce(unique, value)
        await custom.produce(unique, b"raw")

    records = await read_kafka(kafka_server.bootstrap, unique, 3)
    assert sorted(r.value for r in records) == sorted([b'{"n":1}', b"{'n': 1}", b"raw"])


@pytest.fixture
def dead_kafka(own_kafka_server: Any) -> str:
    """The address of a Kafka-compatible broker that was killed: nothing listens there."""
    own_kafka_server.kill()
    return str(own_kafka_server.bootstrap)


async def test_kafka_down_raises_naming_the_broker_and_the_event_after_the_retries(
    dead_kafka: str, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    attempts = 0

    def build() -> aiokafka.AIOKafkaProducer:
        client = aiokafka.AIOKafkaProducer(bootstrap_servers=dead_kafka)
        start = client.start

        async def counted_start() -> None:
            nonlocal attempts
            attempts += 1
            await start()

        client.start = counted_start
        return client

    producer = KafkaProducer(build, retry_count=3, retry_delay=0.01)
    kafka_producers.append(producer)
    event = placed(unique)

    with pytest.raises(MessageBrokerError) as raised, anyio.fail_after(LIMIT):
        await mediator(KafkaMessageBroker(producer), propagate_event_errors=True).send(
            Place(event=event)
        )

    text = str(raised.value)
    assert "KafkaMessageBroker" in text
    assert f"OrderPlaced {event.event_id}" in text
    assert "KafkaConnectionError" in text
    assert not isinstance(raised.value, PublishTimeoutError)
    assert attempts == 3


async def test_kafka_down_is_logged_at_error_by_default(
    dead_kafka: str,
    unique: str,
    kafka_producers: list[KafkaProducer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    producer = kafka_producer_factory(dead_kafka, retry_count=1)
    kafka_producers.append(producer)
    event = placed(unique)

    with anyio.fail_after(LIMIT):
        await mediator(KafkaMessageBroker(producer)).send(Place(event=event))

    [record] = failure_logs(caplog)
    assert record.exc_info is not None
    assert str(event.event_id) in str(record.exc_info[1])
    assert dead_kafka in str(record.exc_info[1])


async def test_a_hanging_kafka_broker_times_out(
    own_kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    producer = kafka_producer_factory(own_kafka_server.bootstrap, retry_delay=0)
    kafka_producers.append(producer)
    broker = KafkaMessageBroker(producer, publish_timeout=SHORT_TIMEOUT)
    with anyio.fail_after(LIMIT):
        await broker.send_message(message(unique))  # connected and working

    own_kafka_server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(PublishTimeoutError) as raised:
            await mediator(broker, propagate_event_errors=True).send(Place(event=placed(unique)))
        elapsed = time.monotonic() - started
    finally:
        own_kafka_server.resume()  # so that stop() can flush what is pending

    assert elapsed < SHORT_TIMEOUT + 3
    assert "KafkaMessageBroker" in str(raised.value)
    assert f"within {SHORT_TIMEOUT} s" in str(raised.value)
    after = message(f"{unique}-after")
    with anyio.fail_after(LIMIT):
        await broker.send_message(after)  # the broker is back: so is the producer
    [record] = await read_kafka(own_kafka_server.bootstrap, after.topic, 1)
    assert kafka_headers(record)["cqrs-message-id"] == str(after.message_id)


async def test_a_start_cut_short_by_the_timeout_is_tried_again_on_the_next_publish(
    own_kafka_server: Any, unique: str, kafka_producers: list[KafkaProducer]
) -> None:
    producer = kafka_producer_factory(own_kafka_server.bootstrap, retry_delay=0)
    kafka_producers.append(producer)
    broker = KafkaMessageBroker(producer, publish_timeout=SHORT_TIMEOUT)

    own_kafka_server.pause()  # the first publish connects, then waits for an answer
    try:
        with pytest.raises(PublishTimeoutError), anyio.fail_after(LIMIT):
            await broker.send_message(message(unique))
    finally:
        own_kafka_server.resume()
    sent = message(unique)
    with anyio.fail_after(LIMIT):
        await broker.send_message(sent)

    [record] = await read_kafka(own_kafka_server.bootstrap, unique, 1)
    assert kafka_headers(record)["cqrs-message-id"] == str(sent.message_id)


# --- RabbitMQ -------------------------------------------------------------------------


@pytest.fixture
async def amqp_publishers() -> AsyncIterator[list[AMQPPublisher]]:
    """Publishers the test makes; each is closed afterwards."""
    publishers: list[AMQPPublisher] = []
    yield publishers
    with anyio.fail_after(LIMIT):
        for publisher in publishers:
            await publisher.close()


@pytest.fixture
async def rabbit(rabbitmq_url: str, unique: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """An independent connection's channel; the queues and exchanges named `unique...` go."""
    with anyio.fail_after(LIMIT):
        connection = await aio_pika.connect(rabbitmq_url, timeout=LIMIT)
    async with connection:
        yield await connection.channel()
        with anyio.fail_after(LIMIT):
            for suffix in ("", "-other"):
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    channel = await connection.channel()
                    await channel.queue_delete(unique + suffix)
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                channel = await connection.channel()
                await channel.exchange_delete(unique)


async def take(
    channel: aio_pika.abc.AbstractChannel, queue_name: str
) -> aio_pika.abc.AbstractIncomingMessage:
    """The next message of `queue_name`; the queue is declared as python-cqrs declares it."""
    queue = await channel.declare_queue(queue_name)
    with anyio.fail_after(LIMIT):
        incoming = await queue.get(timeout=LIMIT)
    await incoming.ack()
    return incoming


async def test_amqp_mediator_publishes_the_event_in_the_wire_format(
    rabbitmq_url: str,
    unique: str,
    rabbit: aio_pika.abc.AbstractChannel,
    amqp_publishers: list[AMQPPublisher],
) -> None:
    publisher = amqp_publisher_factory(rabbitmq_url)
    amqp_publishers.append(publisher)
    event = placed(unique)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    with anyio.fail_after(LIMIT):
        await mediator(AMQPMessageBroker(publisher, unique), propagate_event_errors=True).send(
            Place(event=event)
        )

    incoming = await take(rabbit, unique)
    assert json.loads(incoming.body) == event.to_dict()
    assert incoming.content_type == "application/json"
    assert incoming.message_id == str(event.event_id)
    assert incoming.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert incoming.timestamp is not None
    assert incoming.timestamp >= before
    assert incoming.routing_key == unique
    assert incoming.exchange == unique
    assert_wire_headers({k: str(v) for k, v in incoming.headers.items()}, event)
    # python-cqrs declares the exchange so: the same server takes both libraries.
    await rabbit.declare_exchange(unique, type="direct", auto_delete=True)


async def test_amqp_declares_each_exchange_and_queue_once(
    rabbitmq_url: str,
    unique: str,
    rabbit: aio_pika.abc.AbstractChannel,
    amqp_publishers: list[AMQPPublisher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declarations: list[tuple[str, str]] = []
    declare = amqp_adapter._declare

    async def counted(channel: aio_pika.abc.AbstractChannel, exchange: str, queue: str) -> None:
        declarations.append((exchange, queue))
        await declare(channel, exchange, queue)

    monkeypatch.setattr(amqp_adapter, "_declare", counted)
    publisher = amqp_publisher_factory(rabbitmq_url, max_channel_pool_size=2)
    amqp_publishers.append(publisher)
    broker = AMQPMessageBroker(publisher, unique)
    sent = [message(unique) for _ in range(4)]

    with anyio.fail_after(LIMIT):
        for each in sent:
            await broker.send_message(each)

    assert declarations == [(unique, unique)]
    ids = [(await take(rabbit, unique)).message_id for _ in sent]
    assert ids == [str(m.message_id) for m in sent]


async def test_amqp_default_exchange_routes_by_queue_name(
    rabbitmq_url: str,
    unique: str,
    rabbit: aio_pika.abc.AbstractChannel,
    amqp_publishers: list[AMQPPublisher],
) -> None:
    publisher = amqp_publisher_factory(rabbitmq_url)
    amqp_publishers.append(publisher)
    sent = message(unique)

    with anyio.fail_after(LIMIT):
        await AMQPMessageBroker(publisher, "").send_message(sent)

    assert (await take(rabbit, unique)).message_id == str(sent.message_id)


async def test_an_unroutable_amqp_message_is_an_error_and_the_next_publish_declares_again(
    rabbitmq_url: str,
    unique: str,
    rabbit: aio_pika.abc.AbstractChannel,
    amqp_publishers: list[AMQPPublisher],
) -> None:
    publisher = amqp_publisher_factory(rabbitmq_url)
    amqp_publishers.append(publisher)
    broker = AMQPMessageBroker(publisher, unique)
    with anyio.fail_after(LIMIT):
        await broker.send_message(message(unique))  # declares the exchange and the queue
    # Someone deletes the queue; another queue keeps the auto-delete exchange alive.
    other = await rabbit.declare_queue(unique + "-other")
    await other.bind(unique, routing_key="elsewhere")
    await rabbit.queue_delete(unique)
    lost = message(unique)

    with pytest.raises(MessageBrokerError) as raised, anyio.fail_after(LIMIT):
        await broker.send_message(lost)

    assert "NO_ROUTE" in str(raised.value)
    assert f"OrderPlaced {lost.message_id}" in str(raised.value)
    again = message(unique)
    with anyio.fail_after(LIMIT):
        await broker.send_message(again)
    assert (await take(rabbit, unique)).message_id == str(again.message_id)


async def test_amqp_down_raises_naming_the_broker_and_the_event(
    unique: str, amqp_publishers: list[AMQPPublisher]
) -> None:
    publisher = amqp_publisher_factory(f"amqp://guest:guest@127.0.0.1:{closed_port()}/")
    amqp_publishers.append(publisher)
    event = placed(unique)

    with pytest.raises(MessageBrokerError) as raised, anyio.fail_after(LIMIT):
        await mediator(AMQPMessageBroker(publisher, unique), propagate_event_errors=True).send(
            Place(event=event)
        )

    text = str(raised.value)
    assert "AMQPMessageBroker(AMQPPublisher('amqp://127.0.0.1:" in text
    assert f"OrderPlaced {event.event_id}" in text
    assert "AMQPConnectionError" in text


async def test_amqp_down_is_logged_at_error_by_default(
    unique: str, amqp_publishers: list[AMQPPublisher], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    publisher = amqp_publisher_factory(f"amqp://guest:guest@127.0.0.1:{closed_port()}/")
    amqp_publishers.append(publisher)
    event = placed(unique)

    with anyio.fail_after(LIMIT):
        await mediator(AMQPMessageBroker(publisher, unique)).send(Place(event=event))

    [record] = failure_logs(caplog)
    assert record.exc_info is not None
    assert str(event.event_id) in str(record.exc_info[1])
    assert "AMQPMessageBroker" in str(record.exc_info[1])


def test_a_publisher_made_outside_a_loop_publishes_in_the_next_one(
    rabbitmq_url: str, unique: str
) -> None:
    publisher = amqp_publisher_factory(rabbitmq_url)  # no loop runs here
    sent = message(unique)

    async def publish_and_read() -> str | None:
        try:
            with anyio.fail_after(LIMIT):
                await AMQPMessageBroker(publisher, unique).send_message(sent)
                connection = await aio_pika.connect(rabbitmq_url)
                async with connection:
                    channel = await connection.channel()
                    incoming = await take(channel, unique)
                    await channel.queue_delete(unique)
                    await channel.exchange_delete(unique)
                    return incoming.message_id
        finally:
            await publisher.close()

    assert asyncio.run(publish_and_read()) == str(sent.message_id)


def test_a_producer_made_outside_a_loop_produces_in_the_next_one(
    kafka_server: Any, unique: str
) -> None:
    producer = kafka_producer_factory(kafka_server.bootstrap)  # no loop runs here
    sent = message(unique)

    async def produce_and_read() -> list[Any]:
        try:
            with anyio.fail_after(LIMIT):
                await KafkaMessageBroker(producer).send_message(sent)
        finally:
            await producer.stop()
        return await read_kafka(kafka_server.bootstrap, unique, 1)

    [record] = asyncio.run(produce_and_read())
    assert kafka_headers(record)["cqrs-message-id"] == str(sent.message_id)
