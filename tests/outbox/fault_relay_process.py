"""An outbox relay in its own process, for the fault tests (cut off, killed, run thrice).

    python fault_relay_process.py DATABASE_URL TABLE AMQP_URL QUEUE [--exchange NAME]
        [--batch-size N] [--lease SECONDS] [--poll-interval SECONDS]
        [--max-attempts N] [--publish-timeout SECONDS]

Runs `OutboxRelay.for_sqlalchemy` over the PostgreSQL outbox table TABLE (created by the
test) and publishes the rows of topic QUEUE to RabbitMQ with `FastStreamMessageBroker`
over a FastStream `RabbitBroker` that reconnects every 0.5 s (routing key QUEUE on
EXCHANGE, default: the default exchange, i.e. queue QUEUE). A failed publish is retried
after a backoff of 0.1 s doubling up to 1 s, until --max-attempts; otherwise
`for_sqlalchemy`'s defaults. Prints
`ready` on stdout once its broker and database connections are up, then relays until
SIGTERM (or SIGINT), after which it finishes the batch in hand and prints `published N`
(the events the broker confirmed to this process) and exits 0. SIGKILL is the fault the
tests inject.

The test module imports `FaultEvent` and `event_map` from here, so that both sides store
and read the same event class.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import signal

import cqrs
from cqrs.message_brokers import Message, MessageBroker
from cqrs.outbox import Backoff, OutboxedEventMap, OutboxRelay


class FaultPayload(cqrs.Response):
    n: int


class FaultEvent(cqrs.NotificationEvent[FaultPayload], frozen=True):
    pass


def fault_event(n: int, topic: str) -> FaultEvent:
    return FaultEvent(event_name="fault_event", topic=topic, payload=FaultPayload(n=n))


def event_map() -> OutboxedEventMap:
    return OutboxedEventMap(FaultEvent)


class CountingBroker:
    """Counts the messages the wrapped broker took (a publish that raised is not counted)."""

    def __init__(self, inner: MessageBroker) -> None:
        self.inner = inner
        self.published = 0

    async def send_message(self, message: Message, /) -> None:
        await self.inner.send_message(message)
        self.published += 1


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="An outbox relay for the fault tests.")
    parser.add_argument("database_url")
    parser.add_argument("table")
    parser.add_argument("amqp_url")
    parser.add_argument("queue")
    parser.add_argument("--exchange", default="")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--poll-interval", type=float, default=0.05)
    parser.add_argument("--max-attempts", type=int, default=100)
    parser.add_argument("--publish-timeout", type=float, default=5.0)
    return parser.parse_args()


async def main(options: argparse.Namespace) -> None:
    # The relay's own reports (a publish failed, rows left to their lease) go to stderr,
    # which the tests keep in a file and show when they fail.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("cqrs.outbox").setLevel(logging.INFO)
    import sqlalchemy as sa
    from faststream.rabbit import RabbitBroker
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from cqrs.message_brokers.faststream import FastStreamMessageBroker
    from cqrs.outbox.sqlalchemy import outbox_table

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = create_async_engine(
        options.database_url,
        pool_pre_ping=True,
        connect_args={"timeout": 5, "server_settings": {"lock_timeout": "10s"}},
    )
    rabbit = RabbitBroker(options.amqp_url, logger=None, reconnect_interval=0.5)
    try:
        await rabbit.connect()
        async with engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))
        broker = CountingBroker(
            FastStreamMessageBroker(
                rabbit,
                exchange=options.exchange or None,
                publish_timeout=options.publish_timeout,
            )
        )
        relay = OutboxRelay.for_sqlalchemy(
            async_sessionmaker(engine, expire_on_commit=False),
            event_map(),
            broker,
            table=outbox_table(sa.MetaData(), options.table),
            topic=options.queue,
            batch_size=options.batch_size,
            lease=datetime.timedelta(seconds=options.lease),
            max_attempts=options.max_attempts,
            # A failed row waits 0.1 s, doubling up to 1 s: through an outage of a few
            # seconds it is tried about once a second, well within --max-attempts.
            backoff=Backoff(initial=0.1, maximum=1.0, jitter=0.1),
            error_backoff=Backoff(initial=0.1, maximum=1.0, jitter=0.1),
            poll_interval=options.poll_interval,
        )
        print("ready", flush=True)
        await relay.run(stop)
        print(f"published {broker.published}", flush=True)
    finally:
        await rabbit.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(arguments()))
