"""Interop with python-cqrs 4.15.1 over a real RabbitMQ, in both directions.

python-cqrs runs in its own venv (`tests/brokers/pycqrs.py`); each side uses its own stack:

1. python-cqrs -> us: python-cqrs's mediator and `AMQPMessageBroker` publish
   `NotificationEvent[OrderPayload]` (no headers, a naive `event_timestamp`); our FastStream
   subscriber with `subscribe_events` decodes them into our classes (by `event_name` when
   several are registered) and runs our `EventMediator`.
2. us -> python-cqrs: our `bootstrap(..., message_broker=FastStreamMessageBroker(...))`
   publishes from a command handler; python-cqrs decodes the bodies with its own
   `NotificationEvent[OrderPayload]` and `JsonDeserializer` and runs its `EventMediator`,
   reading the queue with plain aio-pika and with its own `amqp_consumer_factory`.
3. When `cqrs.adapters.amqp` exists: our `AMQPMessageBroker` declares like python-cqrs's, so
   both publishers share one exchange and queue, and python-cqrs's consumer reads them all.

The queue and exchange are declared exactly as python-cqrs 4.15.1 declares them: queue
`<topic>` with aio-pika's defaults (non-durable), a direct `auto_delete` exchange, the queue
bound with routing key `<topic>`. Needs RabbitMQ on 127.0.0.1:5672 (guest/guest) and the
python-cqrs venv: without them the tests skip, or fail under CQRS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import importlib.util
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import di
import pydantic
import pydantic_core
import pytest
from tests.brokers import pycqrs

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import MessageBrokerError
from cqrs.message_brokers.protocol import MessageBroker
from cqrs.requests import bootstrap as requests_bootstrap

try:
    import aio_pika
    from faststream import AckPolicy, StreamMessage
    from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

    from cqrs.integrations.faststream import Failure, subscribe_events
    from cqrs.message_brokers.faststream import FastStreamMessageBroker
    from cqrs.message_brokers.wire import MessageRegistry
except ImportError as missing:  # pragma: no cover - the extras are test dependencies
    if pycqrs.services_required():
        raise
    pytest.skip(
        f"the faststream[rabbit] extra is not installed: {missing}", allow_module_level=True
    )

COUNT = 5
SCRIPT_TIMEOUT = 90.0  # the python-cqrs subprocess, start-up included
WAIT = 20.0  # seconds for all messages to arrive
URL = pycqrs.RABBITMQ_URL


class OrderPayload(pydantic.BaseModel):
    order_id: str
    amount: int


class OurOrderPlaced(cqrs.NotificationEvent[OrderPayload], frozen=True):
    """Our class for python-cqrs's `NotificationEvent[OrderPayload]` named "order_placed"."""


class OurOrderCancelled(cqrs.NotificationEvent[OrderPayload], frozen=True):
    """Same shape, another `event_name`: only the body's event_name tells them apart."""


class PlaceOrders(cqrs.Request):
    topic: str
    count: int


# --- RabbitMQ, declared as python-cqrs declares it --------------------------------------


@dataclasses.dataclass(frozen=True)
class Rabbit:
    channel: Any  # aio_pika.abc.AbstractChannel
    exchange: str
    topic: str  # python-cqrs: queue name == routing key == event topic
    observer: Any  # a second queue bound with the same key: sees the raw published copies

    def exchange_like_pycqrs(self) -> RabbitExchange:
        """The exchange as python-cqrs declares it, for FastStream."""
        return RabbitExchange(
            self.exchange, type=ExchangeType.DIRECT, durable=False, auto_delete=True
        )

    async def depth(self) -> int:
        queue = await self.channel.get_queue(self.topic, ensure=True)
        declared = await queue.declare()  # passive (get_queue): the current depth
        return int(declared.message_count)

    async def raw(self, count: int) -> list[Any]:
        return [await self.observer.get(timeout=5, no_ack=True) for _ in range(count)]


def _require_services() -> None:
    if not pycqrs.rabbitmq_reachable():
        pycqrs.skip_or_fail(
            f"RabbitMQ is not reachable on {pycqrs.RABBITMQ_HOST}:{pycqrs.RABBITMQ_PORT}"
        )


async def _require_pycqrs() -> None:
    if await asyncio.to_thread(pycqrs.pycqrs_python) is None:
        pycqrs.skip_or_fail(pycqrs.unavailable_reason())


async def _delete(names: Sequence[str], exchanges: Sequence[str]) -> None:
    connection = await aio_pika.connect(URL, timeout=10)
    async with connection:
        for name in names:
            channel = await connection.channel()  # a refused delete closes the channel
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        for name in exchanges:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name)


@pytest.fixture
async def rabbit() -> AsyncIterator[Rabbit]:
    """A fresh exchange and queue declared like python-cqrs's AMQPPublisher; removed after."""
    _require_services()
    await _require_pycqrs()
    suffix = uuid.uuid4().hex[:12]
    exchange_name = f"cqrs-interop-{suffix}"
    topic = f"cqrs-interop.orders.{suffix}"
    connection = await aio_pika.connect(URL, timeout=10)
    try:
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(topic)  # aio-pika defaults, as python-cqrs
            exchange = await channel.declare_exchange(
                exchange_name, type="direct", auto_delete=True
            )
            await queue.bind(exchange, routing_key=topic)
            observer = await channel.declare_queue(
                f"cqrs-interop-observer-{suffix}", exclusive=True, auto_delete=True
            )
            await observer.bind(exchange, routing_key=topic)
            yield Rabbit(channel, exchange_name, topic, observer)
    finally:
        await _delete([topic, f"cqrs-interop-observer-{suffix}"], [exchange_name])


# --- python-cqrs, run in its venv ------------------------------------------------------


async def pycqrs_publish(
    exchange: str, topic: str, count: int, event_name: str = "order_placed"
) -> list[dict[str, Any]]:
    """python-cqrs's mediator + AMQPMessageBroker publish `count` events; what it sent."""
    done = await asyncio.to_thread(
        pycqrs.run_pycqrs,
        "publish",
        "--url",
        URL,
        "--exchange",
        exchange,
        "--topic",
        topic,
        "--count",
        str(count),
        "--event-name",
        event_name,
        timeout=SCRIPT_TIMEOUT,
    )
    published = pycqrs.json_lines(done)
    assert len(published) == count
    assert len({p["event_id"] for p in published}) == count
    return published


async def pycqrs_consume(queue: str, count: int, mode: str) -> list[dict[str, Any]]:
    """python-cqrs decodes and handles `count` messages of `queue`; one line per message."""
    done = await asyncio.to_thread(
        pycqrs.run_pycqrs,
        "consume",
        "--url",
        URL,
        "--queue",
        queue,
        "--count",
        str(count),
        "--timeout",
        str(WAIT),
        "--mode",
        mode,
        timeout=SCRIPT_TIMEOUT,
    )
    consumed = pycqrs.json_lines(done)
    assert len(consumed) == count
    assert all(line["handled"] is True for line in consumed)
    return consumed


# --- our consumer side -----------------------------------------------------------------


@dataclasses.dataclass
class Received:
    """What our EventMediator's handlers got, and what went to the dead letter."""

    events: list[cqrs.IEvent] = dataclasses.field(default_factory=list)
    dead: list[tuple[bytes, Failure]] = dataclasses.field(default_factory=list)
    arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    expected: int = 0

    def note(self) -> None:
        if len(self.events) + len(self.dead) >= self.expected:
            self.arrived.set()

    async def dead_letter(self, message: StreamMessage[Any], failure: Failure, /) -> None:
        self.dead.append((bytes(message.body), failure))
        self.note()

    async def wait(self, expected: int) -> None:
        self.expected = expected
        self.note()
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout=WAIT)
        except asyncio.TimeoutError:  # not the builtin before Python 3.11
            pytest.fail(
                f"{len(self.events)} events and {len(self.dead)} dead letters arrived "
                f"within {WAIT}s, expected {expected} messages in all"
            )
        await asyncio.sleep(0.5)  # a duplicate delivery would show up meanwhile


def event_mediator(received: Received, *event_types: type[cqrs.IEvent]) -> cqrs.EventMediator:
    """Our EventMediator: one recording handler per event class."""

    def handler_for(event_type: type[cqrs.IEvent]) -> type[cqrs.EventHandler[Any]]:
        class Recording(cqrs.EventHandler[event_type]):  # type: ignore[valid-type]
            async def handle(self, event: cqrs.IEvent) -> None:
                assert type(event) is event_type
                received.events.append(event)
                received.note()

        return Recording

    def events_mapper(mapper: cqrs.EventMap) -> None:
        for event_type in event_types:
            mapper.bind(event_type, handler_for(event_type))

    return events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper)


@contextlib.asynccontextmanager
async def our_subscriber(
    queue: RabbitQueue, subscribe: Callable[[Any], object]
) -> AsyncIterator[RabbitBroker]:
    """A started FastStream RabbitBroker whose manual-ack subscriber `subscribe` wires up."""
    broker = RabbitBroker(URL, logger=None)
    subscribe(broker.subscriber(queue, ack_policy=AckPolicy.MANUAL))
    try:
        await asyncio.wait_for(broker.start(), timeout=WAIT)
        yield broker
    finally:
        await broker.stop()


def check_decoded(
    event: cqrs.IEvent, sent: dict[str, Any], topic: str, raw_body: bytes | None = None
) -> None:
    """`event` (ours) is the python-cqrs event `sent` described, field for field."""
    assert isinstance(event, cqrs.NotificationEvent)
    assert event.event_id == uuid.UUID(sent["event_id"])
    assert event.event_name == sent["event_name"]
    assert event.topic == topic
    assert isinstance(event.payload, OrderPayload)
    assert event.payload == OrderPayload(order_id=sent["order_id"], amount=sent["amount"])
    assert isinstance(event.event_timestamp, datetime.datetime)
    if raw_body is not None:
        body = json.loads(raw_body)
        assert body["event_id"] == sent["event_id"]
        # python-cqrs stamps datetime.now() without a zone: we keep it naive, unchanged.
        assert event.event_timestamp.tzinfo is None
        assert event.event_timestamp == datetime.datetime.fromisoformat(body["event_timestamp"])


# --- 1. python-cqrs -> us ------------------------------------------------------------------


async def test_pycqrs_events_reach_our_subscriber(rabbit: Rabbit) -> None:
    """python-cqrs publishes N events; our subscriber decodes each once, as our class."""
    received = Received()
    mediator = event_mediator(received, OurOrderPlaced)
    registry: list[MessageRegistry[cqrs.IEvent]] = []
    # declare=False: a passive declaration, so the queue may be declared any way.
    queue = RabbitQueue(rabbit.topic, declare=False)

    def subscribe(subscriber: Any) -> None:
        registry.append(
            subscribe_events(subscriber, mediator, OurOrderPlaced, dead_letter=received.dead_letter)
        )

    async with our_subscriber(queue, subscribe):
        published = await pycqrs_publish(rabbit.exchange, rabbit.topic, COUNT)
        await received.wait(COUNT)

    assert not received.dead, received.dead
    assert list(registry[0]) == [OurOrderPlaced]
    ids = collections.Counter(str(getattr(e, "event_id", None)) for e in received.events)
    assert ids == collections.Counter(p["event_id"] for p in published)  # each exactly once
    raw = {json.loads(m.body)["event_id"]: bytes(m.body) for m in await rabbit.raw(COUNT)}
    by_id = {p["event_id"]: p for p in published}
    for event in received.events:
        assert type(event) is OurOrderPlaced
        event_id = str(event.event_id)
        check_decoded(event, by_id[event_id], rabbit.topic, raw[event_id])
    assert await rabbit.depth() == 0  # every message acked


async def test_pycqrs_events_are_told_apart_by_event_name(rabbit: Rabbit) -> None:
    """Two classes registered: python-cqrs's headerless bodies are decoded by `event_name`.

    An `event_name` no class is registered for cannot be decoded: it goes to the dead
    letter (and is acked), it is not guessed.
    """
    received = Received()
    mediator = event_mediator(received, OurOrderPlaced, OurOrderCancelled)
    registry = MessageRegistry[cqrs.IEvent]()
    registry.register(OurOrderPlaced, event_name="order_placed")
    registry.register(OurOrderCancelled, event_name="order_cancelled")
    # The active alternative to declare=False: python-cqrs's own arguments (FastStream's
    # default durable=True would be refused, see the next test).
    queue = RabbitQueue(rabbit.topic, durable=False)

    def subscribe(subscriber: Any) -> None:
        subscribe_events(subscriber, mediator, dead_letter=received.dead_letter, registry=registry)

    async with our_subscriber(queue, subscribe):
        placed = await pycqrs_publish(rabbit.exchange, rabbit.topic, 3, "order_placed")
        cancelled = await pycqrs_publish(rabbit.exchange, rabbit.topic, 2, "order_cancelled")
        unknown = await pycqrs_publish(rabbit.exchange, rabbit.topic, 1, "order_refunded")
        await received.wait(6)

    expected: dict[str, tuple[type[cqrs.IEvent], dict[str, Any]]] = {
        **{p["event_id"]: (OurOrderPlaced, p) for p in placed},
        **{p["event_id"]: (OurOrderCancelled, p) for p in cancelled},
    }
    assert len(received.events) == len(expected)
    for event in received.events:
        event_id = str(getattr(event, "event_id", None))
        event_type, sent = expected.pop(event_id)
        assert type(event) is event_type
        check_decoded(event, sent, rabbit.topic)
    assert not expected
    assert len(received.dead) == 1
    body, failure = received.dead[0]
    assert json.loads(body)["event_id"] == unknown[0]["event_id"]
    assert failure.attempts == 0
    assert "'order_refunded' is not registered" in failure.reason
    assert await rabbit.depth() == 0


async def test_fast_streams_default_queue_declaration_is_refused(rabbit: Rabbit) -> None:
    """FastStream declares a queue durable by default; python-cqrs's queue is not."""
    broker = RabbitBroker(URL, logger=None)

    @broker.subscriber(RabbitQueue(rabbit.topic), ack_policy=AckPolicy.MANUAL)
    async def handler(message: Any) -> None:  # pragma: no cover - never started
        del message

    try:
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="durable"):
            await asyncio.wait_for(broker.start(), timeout=WAIT)
    finally:
        await broker.stop()


# --- 2. us -> python-cqrs ------------------------------------------------------------------


@dataclasses.dataclass
class Sent:
    events: list[OurOrderPlaced] = dataclasses.field(default_factory=list)


async def our_publish(broker: MessageBroker, topic: str, count: int) -> list[OurOrderPlaced]:
    """Our mediator: a command handler raises `count` events, the broker publishes them."""
    sent = Sent()

    class PlaceOrdersHandler(cqrs.RequestHandler[PlaceOrders, None]):
        def __init__(self) -> None:
            self._events: list[cqrs.IEvent] = []

        @property
        def events(self) -> Sequence[cqrs.IEvent]:
            return list(self._events)

        async def handle(self, request: PlaceOrders) -> None:
            for i in range(request.count):
                event = OurOrderPlaced(
                    event_name="order_placed",
                    topic=request.topic,
                    payload=OrderPayload(order_id=f"o{i}", amount=i),
                )
                sent.events.append(event)
                self._events.append(event)

    def commands_mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(PlaceOrders, PlaceOrdersHandler)

    mediator = requests_bootstrap.bootstrap(
        di_container=di.Container(),
        message_broker=broker,
        commands_mapper=commands_mapper,
        propagate_event_errors=True,  # a refused publish fails the test
    )
    await mediator.send(PlaceOrders(topic=topic, count=count))
    return sent.events


def check_pycqrs_read(
    consumed: list[dict[str, Any]], sent: Sequence[cqrs.NotificationEvent[Any]], topic: str
) -> None:
    """python-cqrs decoded and handled exactly the events we sent, field for field."""
    by_id = {str(e.event_id): e for e in sent}
    for line in consumed:
        event = line["event"]
        ours = by_id.pop(event["event_id"])
        assert event["event_name"] == ours.event_name
        assert event["topic"] == topic
        assert event["payload"] == ours.payload.model_dump(mode="json")
        # Our timestamps are UTC-aware; python-cqrs parses them as the same instant.
        # (fromisoformat reads a trailing "Z" only from Python 3.11 on)
        parsed = datetime.datetime.fromisoformat(event["event_timestamp"].replace("Z", "+00:00"))
        assert parsed == ours.event_timestamp
        assert line["routing_key"] == topic
    assert not by_id, f"python-cqrs did not read {sorted(by_id)}"


@pytest.mark.parametrize("mode", ["aio-pika", "pycqrs"])
async def test_our_events_reach_pycqrs(rabbit: Rabbit, mode: str) -> None:
    """Our FastStreamMessageBroker publishes N events; python-cqrs decodes and handles each."""
    broker = RabbitBroker(URL, logger=None)
    await asyncio.wait_for(broker.connect(), timeout=WAIT)
    try:
        publisher = FastStreamMessageBroker(broker, exchange=rabbit.exchange_like_pycqrs())
        sent = await our_publish(publisher, rabbit.topic, COUNT)
    finally:
        await broker.stop()
    assert len(sent) == COUNT

    consumed = await pycqrs_consume(rabbit.topic, COUNT, mode)
    check_pycqrs_read(consumed, sent, rabbit.topic)
    # Our headers and properties reach python-cqrs, which ignores them.
    by_id = {str(e.event_id): e for e in sent}
    for line in consumed:
        event_id = line["event"]["event_id"]
        assert line["headers"]["cqrs-message-name"] == "OurOrderPlaced"
        assert line["headers"]["cqrs-message-id"] == event_id
        assert line["headers"]["cqrs-wire-version"] == "1"
        assert line["properties"]["content_type"] == "application/json"
        assert line["properties"]["message_id"] == event_id
        assert line["exchange"] == rabbit.exchange
        body = json.loads(line["body"])
        assert set(body) == {"event_id", "event_timestamp", "event_name", "topic", "payload"}
        assert body == json.loads(pydantic_core.to_json(by_id[event_id].to_dict()))
    assert await rabbit.depth() == 0


async def test_fast_stream_broker_declares_nothing(rabbit: Rabbit) -> None:
    """FastStreamMessageBroker declares no exchange, queue or binding (python-cqrs's does).

    A missing exchange fails the publish. A topic no queue is bound for is lost unless
    the channel raises on returned messages: with `Channel(on_return_raises=True)` the
    publish fails instead.
    """
    broker = RabbitBroker(URL, logger=None, default_channel=Channel(on_return_raises=True))
    await asyncio.wait_for(broker.connect(), timeout=WAIT)
    try:
        missing = RabbitExchange(
            f"{rabbit.exchange}.missing", type=ExchangeType.DIRECT, durable=False, auto_delete=True
        )
        with pytest.raises(MessageBrokerError, match="NOT_FOUND"):
            await our_publish(FastStreamMessageBroker(broker, exchange=missing), rabbit.topic, 1)
    finally:
        await broker.stop()
    broker = RabbitBroker(URL, logger=None, default_channel=Channel(on_return_raises=True))
    await asyncio.wait_for(broker.connect(), timeout=WAIT)  # the refusal closed the channel
    try:
        publisher = FastStreamMessageBroker(broker, exchange=rabbit.exchange_like_pycqrs())
        with pytest.raises(MessageBrokerError, match="NO_ROUTE"):
            await our_publish(publisher, f"{rabbit.topic}.unbound", 1)
        sent = await our_publish(publisher, rabbit.topic, 1)  # the bound topic still works
    finally:
        await broker.stop()
    check_pycqrs_read(await pycqrs_consume(rabbit.topic, 1, "aio-pika"), sent, rabbit.topic)


# --- 3. our AMQPMessageBroker, declaring like python-cqrs ----------------------------------


def _our_amqp() -> tuple[Any, Any]:
    """`amqp_publisher_factory` and `AMQPMessageBroker`, or skip while they do not exist."""
    if importlib.util.find_spec("cqrs.adapters.amqp") is None:
        pytest.skip("cqrs.adapters.amqp (our AMQPMessageBroker) does not exist yet")
    from cqrs.adapters.amqp import amqp_publisher_factory
    from cqrs.message_brokers.amqp import AMQPMessageBroker

    return amqp_publisher_factory, AMQPMessageBroker


@dataclasses.dataclass(frozen=True)
class Names:
    exchange: str
    topic: str


@pytest.fixture
async def fresh_names() -> AsyncIterator[Names]:
    """Names nothing has declared yet (the publishers declare them); removed after."""
    _require_services()
    await _require_pycqrs()
    suffix = uuid.uuid4().hex[:12]
    names = Names(f"cqrs-interop-{suffix}", f"cqrs-interop.orders.{suffix}")
    try:
        yield names
    finally:
        await _delete([names.topic], [names.exchange])


@pytest.mark.parametrize("first", ["ours", "python-cqrs"])
async def test_our_amqp_broker_shares_the_exchange_with_pycqrs(
    fresh_names: Names, first: str
) -> None:
    """Our AMQPMessageBroker declares like python-cqrs: either may declare first, both publish.

    Fresh names: whichever publishes first declares the exchange, the queue and the
    binding; the other re-declares them (no PRECONDITION_FAILED), then both publish at
    once. python-cqrs's own `amqp_consumer_factory` (which re-declares the queue too)
    reads every event of both, and so does plain aio-pika.
    """
    amqp_publisher_factory, amqp_message_broker = _our_amqp()
    exchange, topic = fresh_names.exchange, fresh_names.topic
    publishers = [amqp_publisher_factory(url=URL) for _ in range(2)]
    brokers = [amqp_message_broker(publisher=p, exchange_name=exchange) for p in publishers]
    ours: list[OurOrderPlaced] = []
    theirs: list[dict[str, Any]] = []
    try:
        if first == "ours":
            ours += await our_publish(brokers[0], topic, 2)
        else:
            theirs += await pycqrs_publish(exchange, topic, 2)
        # A second publisher of ours declares again, while python-cqrs declares on every publish.
        both = await asyncio.gather(
            our_publish(brokers[1], topic, COUNT), pycqrs_publish(exchange, topic, COUNT)
        )
        ours += both[0]
        theirs += both[1]
    finally:
        for publisher in publishers:
            await publisher.close()

    consumed = await pycqrs_consume(topic, len(ours) + len(theirs), "pycqrs")
    by_id = {str(e.event_id): e for e in ours}
    mine = [line for line in consumed if line["event"]["event_id"] in by_id]
    check_pycqrs_read(mine, ours, topic)
    for line in mine:
        assert line["headers"]["cqrs-message-name"] == "OurOrderPlaced"
        assert line["properties"]["message_id"] == line["event"]["event_id"]
        assert line["properties"]["content_type"] == "application/json"
        assert line["properties"]["delivery_mode"] == 2  # persistent
        assert line["exchange"] == exchange
    others = {p["event_id"]: p for p in theirs}
    for line in consumed:
        if line["event"]["event_id"] in by_id:
            continue
        sent = others.pop(line["event"]["event_id"])
        assert line["event"]["payload"] == {"order_id": sent["order_id"], "amount": sent["amount"]}
        assert not line["headers"]  # python-cqrs's own messages, unchanged
    assert not others


async def test_our_amqp_broker_reaches_pycqrs_plain_consumer(rabbit: Rabbit) -> None:
    """On the queue declared as python-cqrs does, python-cqrs reads ours with plain aio-pika."""
    amqp_publisher_factory, amqp_message_broker = _our_amqp()
    publisher = amqp_publisher_factory(url=URL)
    try:
        broker = amqp_message_broker(publisher=publisher, exchange_name=rabbit.exchange)
        sent = await our_publish(broker, rabbit.topic, COUNT)
    finally:
        await publisher.close()
    consumed = await pycqrs_consume(rabbit.topic, COUNT, "aio-pika")
    check_pycqrs_read(consumed, sent, rabbit.topic)
    raw = await rabbit.raw(COUNT)  # the same bodies on the observer queue
    assert {json.loads(m.body)["event_id"] for m in raw} == {str(e.event_id) for e in sent}
    assert await rabbit.depth() == 0
