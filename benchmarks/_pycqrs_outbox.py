"""python-cqrs 4.15.1's outbox relay, timed: run by `benchmarks/outbox.py`, never imported.

Runs inside the python-cqrs venv (`.venv-pycqrs/`, see `tests/brokers/pycqrs.py`, plus
aiomysql), never in the project's venv: both distributions are imported as `cqrs`, and
`import cqrs` below is python-cqrs's. Set CQRS_SUPPRESS_V4_EOL_WARNING=1 (the caller
does) to silence its end-of-life notice. Usage::

    _pycqrs_outbox.py --db-url mysql+aiomysql://root@127.0.0.1:3306/test \
        --amqp-url amqp://guest:guest@127.0.0.1:5672/ --exchange EX --topic T \
        --table bench_pycqrs_outbox_x --events 5000 --batch-size 100

The path is the one python-cqrs documents for its outbox: `OutboxModel` (moved to the
table `--table` with its `rebind_outbox_model`), N `NotificationEvent`s added through
`SqlAlchemyOutboxedEventRepository` and committed, then drained by `EventProducer` over one
session as in its README (`event_batch_generator(batch_size)`, `send_message` per event,
`repository.commit()` per batch), publishing with `AMQPMessageBroker` over
`amqp_publisher_factory` (aio-pika). The publisher's connection and channel are opened
before the clock starts. Timed:

- drain: from the first batch claimed until N events are marked PRODUCED and committed;
- publish: the same N messages sent with the same `AMQPMessageBroker`, no database.

Prints one JSON line: {"drain_seconds", "publish_seconds", "events", "produced",
"versions"}. The table is dropped at the end; the queue and exchange (declared by
python-cqrs's publisher, named after --topic and --exchange) are left to the caller.
"""

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import sys
import time
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry

import cqrs
from cqrs.adapters.amqp import amqp_publisher_factory
from cqrs.message_brokers.amqp import AMQPMessageBroker
from cqrs.message_brokers.protocol import Message
from cqrs.outbox.map import OutboxedEventMap
from cqrs.outbox.repository import EventStatus
from cqrs.outbox.sqlalchemy import (
    OutboxModel,
    SqlAlchemyOutboxedEventRepository,
    rebind_outbox_model,
)
from cqrs.producer import EventProducer

SEED_CHUNK = 1_000


class OrderPayload(pydantic.BaseModel):
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str


class OrderPlaced(cqrs.NotificationEvent[OrderPayload], frozen=True):
    pass


EVENTS = OutboxedEventMap()
EVENTS.register("order_placed", OrderPlaced)


def order_placed(topic: str, n: int) -> OrderPlaced:
    payload = OrderPayload(
        order_id=f"o-{n}", customer_id="c-42", amount_cents=1_999 + n, currency="EUR"
    )
    return OrderPlaced(event_name="order_placed", topic=topic, payload=payload)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-url", required=True, help="a SQLAlchemy async URL (MySQL/MariaDB)")
    parser.add_argument("--amqp-url", required=True, help="amqp://user:password@host:port/")
    parser.add_argument("--exchange", required=True, help="AMQPMessageBroker exchange_name")
    parser.add_argument("--topic", required=True, help="the events' topic (queue, routing key)")
    parser.add_argument("--table", required=True, help="the outbox table (created, dropped)")
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--isolation-level", default="READ COMMITTED")
    return parser.parse_args(argv)


async def close_publisher(publisher: Any) -> None:
    """Close the publisher's channel pool and the connection pool behind it (best effort)."""
    channel_pool = getattr(publisher, "channel_pool", None)
    constructor = getattr(channel_pool, "_Pool__constructor", None)
    connection_pool = getattr(constructor, "keywords", {}).get("connection_pool")
    for pool in (channel_pool, connection_pool):
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close()


def versions() -> dict[str, str]:
    found = {}
    for name in ("python-cqrs", "sqlalchemy", "aiomysql", "PyMySQL", "aio-pika", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


async def seed(sessions: async_sessionmaker[AsyncSession], topic: str, count: int) -> None:
    async with sessions() as session:
        repository = SqlAlchemyOutboxedEventRepository(session, event_map=EVENTS)
        for start in range(0, count, SEED_CHUNK):
            for n in range(start, min(start + SEED_CHUNK, count)):
                repository.add(order_placed(topic, n))
            await repository.commit()


async def drain(
    sessions: async_sessionmaker[AsyncSession],
    broker: AMQPMessageBroker,
    count: int,
    batch_size: int,
) -> float:
    """Seconds for EventProducer to publish and mark `count` rows, as python-cqrs documents."""
    started = time.perf_counter()
    done = 0
    async with sessions() as session:
        repository = SqlAlchemyOutboxedEventRepository(session, event_map=EVENTS)
        producer = EventProducer(broker, repository)
        batches = producer.event_batch_generator(batch_size)
        async for batch in batches:
            if not batch:
                msg = f"the outbox ran dry after {done} of {count} events"
                raise RuntimeError(msg)
            for outboxed in batch:
                await producer.send_message(outboxed)
            await producer.repository.commit()
            done += len(batch)
            if done >= count:
                break
        await batches.aclose()
    return time.perf_counter() - started


async def bare_publish(broker: AMQPMessageBroker, topic: str, count: int) -> float:
    """Seconds to send `count` messages with the broker alone (EventProducer's message)."""
    events = [order_placed(topic, n) for n in range(count)]
    started = time.perf_counter()
    for event in events:
        await broker.send_message(
            Message(
                message_name=event.event_name,
                message_id=event.event_id,
                topic=topic,
                payload=event.to_dict(),
            )
        )
    return time.perf_counter() - started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = registry().generate_base()
    rebind_outbox_model(OutboxModel, base, args.table)
    table = OutboxModel.__table__
    engine = create_async_engine(
        args.db_url,
        isolation_level=args.isolation_level,
        connect_args={"connect_timeout": 5},
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    publisher = amqp_publisher_factory(url=args.amqp_url)
    broker = AMQPMessageBroker(publisher=publisher, exchange_name=args.exchange)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.create, checkfirst=True)
        await seed(sessions, args.topic, args.events)
        # The connection and the channel, opened before the clock starts (ours: connected).
        async with publisher.channel_pool.acquire():
            pass
        drain_seconds = await drain(sessions, broker, args.events, args.batch_size)
        async with sessions() as session:
            produced = await session.scalar(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.event_status == EventStatus.PRODUCED)
            )
        publish_seconds = await bare_publish(broker, args.topic, args.events)
    finally:
        await close_publisher(publisher)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(table.drop, checkfirst=True)
        finally:
            await engine.dispose()
    return {
        "drain_seconds": drain_seconds,
        "publish_seconds": publish_seconds,
        "events": args.events,
        "produced": produced,
        "versions": versions(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)
    if result["produced"] != args.events:
        print(f"{result['produced']} of {args.events} rows PRODUCED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
