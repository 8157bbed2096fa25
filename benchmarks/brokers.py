"""Broker throughput: the mediator's publish and consume paths against the bare clients.

Usage:
    python benchmarks/brokers.py                # full run, about three minutes
    python benchmarks/brokers.py --quick        # tiny counts (CI runs this so it cannot rot)
    python benchmarks/brokers.py --rounds 7 --messages 20000

Needs RabbitMQ (--amqp-url, default amqp://guest:guest@127.0.0.1:5672/) and NATS with
JetStream (--nats-url, default nats://127.0.0.1:4222). A server that cannot be reached
is reported as skipped and the run goes on; the exit status is 0 either way.

Publish: N sends of a command whose handler raises one `NotificationEvent`, through a
`RequestMediator` bootstrapped with `FastStreamMessageBroker`, from one sender and from
concurrent senders, against publishing the same bodies and headers directly, with
FastStream's `broker.publish` and with the raw client (aio-pika on a channel with
publisher confirms; nats-py). Each batch is timed until the broker has everything
(confirmed, acked by JetStream, or flushed to NATS).

Consume: N messages already in a RabbitMQ queue or a JetStream stream, read by a bare
FastStream subscriber whose handler acks, and by `subscribe_events` with one trivial
`EventHandler`; both with `AckPolicy.MANUAL` and the same window (RabbitMQ prefetch,
JetStream pull batch) and the same handler signature (the message injected with
`Context("message")`, as `subscribe_events` does). The time runs from the first message
handled to the N-th.

Each round times every case of a table in turn, so that a slow spell of the machine hits
them all; the best round of each case is kept. Rates are messages/s, ratios are to the
direct publish (or the bare subscriber) of the same run. Nothing is asserted: these
machines are noisy, so compare ratios. Queues, streams and consumers are named after
the run and deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.metadata
import os
import platform
import sys
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Protocol

import aio_pika
import di
import nats
import pydantic
from aio_pika.exceptions import AMQPError
from faststream import AckPolicy, Context, StreamMessage
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from nats.errors import Error as NatsError
from nats.js.api import DiscardPolicy, StorageType
from nats.js.errors import NotFoundError

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.integrations.faststream import DeadLetterTopic, subscribe_events
from cqrs.message_brokers import DevnullMessageBroker, Message, MessageBroker
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.wire import EncodedMessage, encode
from cqrs.requests import bootstrap

PUBLISH_GOAL = 0.8  # mediator msgs/s / FastStream broker.publish msgs/s
CONSUME_GOAL = 0.7  # subscribe_events msgs/s / bare subscriber msgs/s
PUBLISH_QUEUE_CAP = 1_000  # messages kept in the publish queue / stream

# --- the workload ---------------------------------------------------------------------


class OrderPayload(pydantic.BaseModel):
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str


class OrderPlaced(cqrs.NotificationEvent[OrderPayload], frozen=True):
    pass


class PlaceOrder(cqrs.Request[None]):
    topic: str
    n: int


class PlaceOrderHandler(cqrs.RequestHandler[PlaceOrder, None]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: PlaceOrder) -> None:
        payload = OrderPayload(
            order_id=f"o-{request.n}",
            customer_id="c-42",
            amount_cents=1_999 + request.n,
            currency="EUR",
        )
        self._events = [
            OrderPlaced(event_name="order_placed", topic=request.topic, payload=payload)
        ]


class Tally:
    """Counts handled messages; `done` is set at the expected one."""

    def __init__(self) -> None:
        self.reset(0)

    def reset(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.first = self.last = 0.0
        self.done = asyncio.Event()

    def hit(self) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        if self.count == self.expected:
            self.last = now
            self.done.set()


TALLY = Tally()


class CountOrderPlaced(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        TALLY.hit()


async def bare_handler(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
    """The baseline consumer: what `subscribe_events` registers, minus cqrs."""
    TALLY.hit()
    await message.ack()


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(PlaceOrder, PlaceOrderHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(OrderPlaced, CountOrderPlaced)


def request_mediator(broker: MessageBroker, event_limit: int = 1) -> cqrs.RequestMediator:
    # propagate_event_errors: a publish that fails must fail the benchmark, not look fast.
    return bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        message_broker=broker,
        max_concurrent_event_handlers=event_limit,
        propagate_event_errors=True,
    )


def event_mediator() -> cqrs.EventMediator:
    return events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)


def orders(topic: str, count: int) -> list[PlaceOrder]:
    return [PlaceOrder(topic=topic, n=n) for n in range(count)]


async def wire_messages(topic: str, count: int) -> list[EncodedMessage]:
    """What the mediator publishes for `orders(topic, count)`, encoded for the wire."""
    recorder = Recorder()
    mediator = request_mediator(recorder)
    for request in orders(topic, count):
        await mediator.send(request)
    return [encode(message) for message in recorder.messages]


# --- measuring ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublishCase:
    name: str
    op: Callable[[Any], Awaitable[object]]
    items: Sequence[Any]
    finish: Callable[[], Awaitable[object]] | None = None  # e.g. flush the connection
    role: str = ""  # "faststream", "raw", "mediator" (held to the goal), "devnull"


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    seconds: float  # best round
    messages: int  # timed in that round (intervals, for a consumer)
    role: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def us_per_message(self) -> float:
        return self.seconds / self.messages * 1e6


@dataclasses.dataclass(frozen=True)
class Table:
    title: str
    rows: list[Row]
    goal: float
    reference: str  # the role the ratios are to
    second: str | None = None  # another role to show a ratio to


async def drive(op: Callable[[Any], Awaitable[object]], items: Sequence[Any]) -> None:
    for item in items:
        await op(item)


async def publish_batch(case: PublishCase, items: Sequence[Any], senders: int) -> float:
    """Seconds to publish `items` with `senders` concurrent senders, flush included."""
    started = time.perf_counter()
    if senders == 1:
        await drive(case.op, items)
    else:
        await asyncio.gather(*(drive(case.op, items[i::senders]) for i in range(senders)))
    if case.finish is not None:
        await case.finish()
    return time.perf_counter() - started


async def measure_publish(
    cases: list[PublishCase], rounds: int, senders: int, warm_up: int
) -> list[Row]:
    for case in cases:
        await publish_batch(case, case.items[:warm_up], senders)
    best = [float("inf")] * len(cases)
    for _ in range(rounds):
        for index, case in enumerate(cases):
            best[index] = min(best[index], await publish_batch(case, case.items, senders))
    return [
        Row(case.name, seconds, len(case.items), case.role)
        for case, seconds in zip(cases, best, strict=True)
    ]


class ConsumeTarget(Protocol):
    """Where the consumer benchmark reads from: a fresh queue or subject per round."""

    adapter: FastStreamMessageBroker  # for the dead letter (never written to)

    async def fill(self, tag: str, count: int) -> str:
        """Create a source named after `tag` holding `count` messages; return its name."""
        ...

    def subscriber(self, source: str) -> Any:
        """A FastStream subscriber to `source`, manual acks, the benchmark's window."""
        ...

    async def drop(self, source: str) -> None:
        """Delete `source` and what reads from it."""
        ...


@dataclasses.dataclass(frozen=True)
class Consumer:
    name: str
    mediated: bool


async def consume_once(
    target: ConsumeTarget, consumer: Consumer, tag: str, count: int, mediator: cqrs.EventMediator
) -> float:
    """Seconds from the first message handled to the `count`-th."""
    source = await target.fill(tag, count)
    try:
        subscriber = target.subscriber(source)
        if consumer.mediated:
            dead_letter = DeadLetterTopic(target.adapter, f"{source}.dead-letter")
            subscribe_events(subscriber, mediator, OrderPlaced, dead_letter=dead_letter)
        else:
            subscriber(bare_handler)
        TALLY.reset(count)
        await subscriber.start()
        try:
            await asyncio.wait_for(TALLY.done.wait(), timeout=60 + count / 200)
        except asyncio.TimeoutError:
            msg = f"{consumer.name}: {TALLY.count} of {count} messages arrived in time"
            raise RuntimeError(msg) from None
        finally:
            await subscriber.stop()
    finally:
        await target.drop(source)
    return TALLY.last - TALLY.first


async def measure_consume(
    target: ConsumeTarget, rounds: int, count: int, warm_up: int
) -> list[Row]:
    mediator = event_mediator()
    consumers = [
        Consumer("bare FastStream subscriber, handler acks", mediated=False),
        Consumer("subscribe_events -> EventMediator, 1 EventHandler", mediated=True),
    ]
    for index, consumer in enumerate(consumers):
        await consume_once(target, consumer, f"warm{index}", warm_up, mediator)
    best = [float("inf")] * len(consumers)
    for round_ in range(rounds):
        for index, consumer in enumerate(consumers):
            seconds = await consume_once(target, consumer, f"r{round_}c{index}", count, mediator)
            best[index] = min(best[index], seconds)
    roles = ("bare", "mediator")
    return [
        Row(consumer.name, seconds, count - 1, role)
        for consumer, seconds, role in zip(consumers, best, roles, strict=True)
    ]


# --- the publish cases, whatever the broker ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class PublishTarget:
    """One way to publish to one broker: the direct calls and the adapter over them."""

    raw_name: str
    raw: Callable[[EncodedMessage], Awaitable[object]]
    faststream: Callable[[EncodedMessage], Awaitable[object]]
    adapter: FastStreamMessageBroker
    raw_finish: Callable[[], Awaitable[object]] | None = None
    faststream_finish: Callable[[], Awaitable[object]] | None = None


async def publish_tables(
    title: str, target: PublishTarget, topic: str, args: argparse.Namespace
) -> list[Table]:
    wires = await wire_messages(topic, args.messages)
    requests = orders(topic, args.messages)
    tables = []
    for senders in (1, args.senders):
        after = target.faststream_finish
        cases = [
            PublishCase(target.raw_name, target.raw, wires, target.raw_finish, "raw"),
            PublishCase("FastStream broker.publish", target.faststream, wires, after, "faststream"),
            PublishCase(
                "FastStreamMessageBroker.send_encoded (no mediator)",
                target.adapter.send_encoded,
                wires,
                after,
            ),
            PublishCase(
                "mediator.send -> FastStreamMessageBroker",
                request_mediator(target.adapter).send,
                requests,
                after,
                "mediator",
            ),
        ]
        if senders > 1:
            cases.append(
                PublishCase(
                    f"  same, max_concurrent_event_handlers={senders}",
                    request_mediator(target.adapter, event_limit=senders).send,
                    requests,
                    after,
                )
            )
        cases.append(
            PublishCase(
                "mediator.send -> DevnullMessageBroker",
                request_mediator(DevnullMessageBroker()).send,
                requests,
                role="devnull",
            )
        )
        rows = await measure_publish(cases, args.rounds, senders, args.warm_up)
        who = "one sender" if senders == 1 else f"{senders} concurrent senders"
        tables.append(Table(f"{title}, {who}", rows, PUBLISH_GOAL, "faststream", "raw"))
    return tables


# --- RabbitMQ ---------------------------------------------------------------------------


def amqp_message(wire: EncodedMessage) -> aio_pika.Message:
    # What FastStreamMessageBroker sends: the same body, headers and properties.
    return aio_pika.Message(
        wire.body,
        headers=dict(wire.headers),
        content_type=wire.content_type,
        message_id=wire.message_id,
        correlation_id=wire.message_id,
        timestamp=wire.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


class RabbitConsume:
    def __init__(
        self,
        broker: RabbitBroker,
        channel: aio_pika.abc.AbstractChannel,
        prefix: str,
        window: int,
    ) -> None:
        self._broker = broker
        self._channel = channel
        self._prefix = prefix
        self._settings = Channel(prefetch_count=window)  # one channel for every subscriber
        self.adapter = FastStreamMessageBroker(broker)

    async def fill(self, tag: str, count: int) -> str:
        name = f"{self._prefix}.consume.{tag}"
        await self._channel.declare_queue(name, durable=False)
        exchange = self._channel.default_exchange

        async def publish(wire: EncodedMessage) -> object:
            return await exchange.publish(amqp_message(wire), routing_key=wire.topic)

        wires = await wire_messages(name, count)
        await asyncio.gather(*(drive(publish, wires[i::100]) for i in range(100)))
        return name

    def subscriber(self, source: str) -> Any:
        return self._broker.subscriber(
            RabbitQueue(source, declare=False),
            channel=self._settings,
            ack_policy=AckPolicy.MANUAL,
            persistent=False,
        )

    async def drop(self, source: str) -> None:
        await self._channel.queue_delete(source)


async def rabbit(args: argparse.Namespace, prefix: str) -> tuple[str, list[Table]]:
    url = args.amqp_url
    try:
        connection = await asyncio.wait_for(aio_pika.connect(url), timeout=10)
    except (OSError, asyncio.TimeoutError, AMQPError) as error:
        raise ServerDownError(error) from error
    broker = RabbitBroker(url, logger=None)
    topic = f"{prefix}.publish"
    try:
        await broker.start()
        channel = await connection.channel(publisher_confirms=True)
        properties = getattr(connection.transport.connection, "server_properties", {})
        server = f"RabbitMQ {properties.get('version', '?')} at {redact(url)}"
        await channel.declare_queue(
            topic, durable=False, arguments={"x-max-length": PUBLISH_QUEUE_CAP}
        )
        exchange = channel.default_exchange

        async def raw(wire: EncodedMessage) -> object:
            return await exchange.publish(amqp_message(wire), routing_key=wire.topic)

        async def direct(wire: EncodedMessage) -> object:
            return await broker.publish(
                wire.body,
                routing_key=wire.topic,
                headers=dict(wire.headers),
                content_type=wire.content_type,
                message_id=wire.message_id,
                correlation_id=wire.message_id,
                timestamp=wire.timestamp,
                persist=True,
            )

        target = PublishTarget(
            "aio-pika, channel with publisher confirms",
            raw,
            direct,
            FastStreamMessageBroker(broker),
        )
        title = (
            f"publish, {args.messages:,} persistent messages to a transient classic queue "
            f"(capped at {PUBLISH_QUEUE_CAP:,}), publisher confirms"
        )
        tables = await publish_tables(title, target, topic, args)
        consume = RabbitConsume(broker, channel, prefix, args.window)
        rows = await measure_consume(consume, args.rounds, args.messages, args.warm_up)
        title = (
            f"consume, {args.messages:,} messages from a transient classic queue, "
            f"prefetch_count={args.window}, AckPolicy.MANUAL"
        )
        tables.append(Table(title, rows, CONSUME_GOAL, "bare"))
        await channel.queue_delete(topic)
    finally:
        await broker.stop()
        await connection.close()
    return server, tables


# --- NATS -----------------------------------------------------------------------------


class JetStreamConsume:
    def __init__(
        self, broker: NatsBroker, nc: nats.NATS, stream: str, prefix: str, window: int
    ) -> None:
        self._broker = broker
        self._js = nc.jetstream()
        self._stream = stream
        self._prefix = prefix
        self._window = window
        self.adapter = FastStreamMessageBroker(broker)

    async def fill(self, tag: str, count: int) -> str:
        subject = f"{self._prefix}.consume.{tag}"
        js = self._js

        async def publish(wire: EncodedMessage) -> object:
            return await js.publish(wire.topic, wire.body, headers=dict(wire.headers))

        wires = await wire_messages(subject, count)
        await asyncio.gather(*(drive(publish, wires[i::100]) for i in range(100)))
        return subject

    def subscriber(self, source: str) -> Any:
        return self._broker.subscriber(
            source,
            stream=JStream(self._stream, declare=False),
            durable=durable_name(source),
            pull_sub=PullSub(batch_size=self._window),
            ack_policy=AckPolicy.MANUAL,
            persistent=False,
        )

    async def drop(self, source: str) -> None:
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(self._stream, durable_name(source))
        await self._js.purge_stream(self._stream, subject=source)


async def ignore_error(error: Exception) -> None:
    del error


def durable_name(subject: str) -> str:
    return subject.replace(".", "-")


def nats_publish_target(broker: NatsBroker, nc: nats.NATS, stream: str | None) -> PublishTarget:
    js = nc.jetstream()
    # FastStream adds a correlation_id header (the adapter passes the message id): the raw
    # client sends the same headers. nats-py's JetStream publish adds the stream to them.
    extra = "correlation_id"

    async def raw_core(wire: EncodedMessage) -> object:
        headers = {**wire.headers, extra: wire.message_id}
        return await nc.publish(wire.topic, wire.body, headers=headers)

    async def raw_stream(wire: EncodedMessage) -> object:
        headers = {**wire.headers, extra: wire.message_id}
        return await js.publish(wire.topic, wire.body, headers=headers, stream=stream)

    async def direct(wire: EncodedMessage) -> object:
        return await broker.publish(
            wire.body,
            wire.topic,
            headers=dict(wire.headers),
            correlation_id=wire.message_id,
            stream=stream,
            timeout=10.0,
        )

    if stream is None:
        return PublishTarget(
            "nats-py nc.publish, one flush per batch",
            raw_core,
            direct,
            FastStreamMessageBroker(broker),
            nc.flush,
            broker.connection.flush,
        )
    return PublishTarget(
        "nats-py js.publish (waits for the PubAck)",
        raw_stream,
        direct,
        FastStreamMessageBroker(broker, stream=stream),
    )


async def nats_bench(args: argparse.Namespace, prefix: str) -> tuple[str, list[Table]]:
    url = args.nats_url
    try:
        nc = await nats.connect(
            url,
            connect_timeout=5,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            error_cb=ignore_error,  # the failure is reported once, below
        )
    except (OSError, asyncio.TimeoutError, NatsError) as error:
        raise ServerDownError(error) from error
    broker = NatsBroker(url, logger=None)
    js = nc.jetstream()
    streams: list[str] = []
    try:
        await broker.start()
        version = nc.connected_server_version
        server = f"NATS {version.major}.{version.minor}.{version.patch} at {redact(url)}"
        publish_stream, consume_stream = f"{prefix}-publish", f"{prefix}-consume"
        await js.add_stream(
            name=publish_stream,
            subjects=[f"{prefix}.publish.js"],
            storage=StorageType.MEMORY,
            max_msgs=PUBLISH_QUEUE_CAP,
            discard=DiscardPolicy.OLD,
        )
        streams.append(publish_stream)
        await js.add_stream(
            name=consume_stream, subjects=[f"{prefix}.consume.>"], storage=StorageType.MEMORY
        )
        streams.append(consume_stream)
        core = nats_publish_target(broker, nc, None)
        title = f"core NATS publish, {args.messages:,} messages to a subject nobody reads"
        tables = await publish_tables(title, core, f"{prefix}.publish.core", args)
        jetstream = nats_publish_target(broker, nc, publish_stream)
        title = (
            f"JetStream publish, {args.messages:,} messages to a memory stream "
            f"(capped at {PUBLISH_QUEUE_CAP:,})"
        )
        tables += await publish_tables(title, jetstream, f"{prefix}.publish.js", args)
        consume = JetStreamConsume(broker, nc, consume_stream, prefix, args.window)
        rows = await measure_consume(consume, args.rounds, args.messages, args.warm_up)
        title = (
            f"consume, {args.messages:,} messages from a JetStream memory stream, pull "
            f"consumer, PullSub(batch_size={args.window}), AckPolicy.MANUAL"
        )
        tables.append(Table(title, rows, CONSUME_GOAL, "bare"))
    finally:
        for stream in streams:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
        await broker.stop()
        await nc.close()
    return server, tables


# --- reporting --------------------------------------------------------------------------


class ServerDownError(Exception):
    """A broker's server cannot be reached: its tables are skipped."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


def ratio_cell(row: Row, reference: Row | None) -> str:
    return f"{row.rate / reference.rate:.2f}" if reference is not None else "-"


def print_table(table: Table) -> None:
    by_role = {row.role: row for row in table.rows if row.role}
    reference, second = by_role.get(table.reference), by_role.get(table.second or "")
    labels = {"faststream": "/ FastStream", "raw": "/ raw client", "bare": "/ bare"}
    heads = [labels[table.reference]] + ([labels[table.second]] if table.second else [])
    print(f"\n  {table.title}")
    print(f"    {'case':<56} {'msg/s':>9} {'us/msg':>8} " + " ".join(f"{h:>13}" for h in heads))
    for row in table.rows:
        cells = [ratio_cell(row, reference)] + ([ratio_cell(row, second)] if table.second else [])
        line = f"    {row.name:<56} {row.rate:>9,.0f} {row.us_per_message:>8.1f} "
        line += " ".join(f"{cell:>13}" for cell in cells)
        if row.role == "mediator" and reference is not None:
            verdict = "ok" if row.rate / reference.rate >= table.goal else "BELOW GOAL"
            line += f"   goal >= {table.goal}: {verdict}"
        print(line)
    mediator, devnull = by_role.get("mediator"), by_role.get("devnull")
    if mediator is not None and devnull is not None and reference is not None:
        publish = mediator.us_per_message - devnull.us_per_message
        print(
            f"    send path: {mediator.us_per_message:.1f} us per send, of which publishing "
            f"{publish:.1f} us ({publish / mediator.us_per_message:.0%}) and the rest "
            f"{devnull.us_per_message:.1f} us; FastStream's own publish: "
            f"{reference.us_per_message:.1f} us"
        )


def versions() -> str:
    names = ("faststream", "aio-pika", "aiormq", "nats-py", "pydantic", "anyio", "stamina")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


async def run(args: argparse.Namespace) -> None:
    prefix = f"cqrs-bench-{uuid.uuid4().hex[:8]}"
    print(
        f"{args.messages:,} messages per case, best of {args.rounds} interleaved round(s), "
        f"{args.senders} concurrent senders, consumer window {args.window}; run {prefix}"
    )
    print(
        f"python {platform.python_version()} ({sys.platform}, {os.cpu_count()} CPUs, "
        f"asyncio's default loop); {versions()}"
    )
    sections: list[tuple[str, str, Callable[..., Awaitable[tuple[str, list[Table]]]]]] = [
        ("RabbitMQ", args.amqp_url, rabbit),
        ("NATS", args.nats_url, nats_bench),
    ]
    for name, url, bench in sections:
        try:
            server, tables = await bench(args, prefix)
        except ServerDownError as error:
            print(f"\n{name} at {redact(url)}: skipped, cannot connect ({error})")
            continue
        print(f"\n{server}")
        for table in tables:
            print_table(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, to check it runs")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (best kept)")
    parser.add_argument("--messages", type=int, default=2_000, help="messages per case")
    parser.add_argument("--senders", type=int, default=50, help="concurrent senders")
    parser.add_argument("--window", type=int, default=100, help="prefetch / pull batch size")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.messages, args.senders = 1, 60, 10
    args.rounds = max(1, args.rounds)
    args.messages = max(2, args.messages)
    args.senders = max(2, min(args.senders, args.messages))
    args.warm_up = min(args.messages, 200)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
