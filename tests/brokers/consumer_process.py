"""A consumer process for the fault test of test_faststream_consumer.py.

    python consumer_process.py AMQP_URL QUEUE RECORD_FILE PREFETCH

Subscribes an `EventMediator` to the RabbitMQ queue QUEUE (not durable, not
auto-delete: the queue outlives a killed consumer) with `subscribe_events`, at most
PREFETCH unacknowledged messages in hand. The handler appends each event id to
RECORD_FILE, flushed and fsynced, before the consumer acks the message: a line in the
file means "handled", whether or not the ack reached RabbitMQ. Runs until killed;
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import IO

import di
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.integrations.faststream import DeadLetterTopic, Retry, subscribe_events
from cqrs.message_brokers.faststream import FastStreamMessageBroker


class Order(cqrs.Response):
    order_id: int
    sku: str


class OrderPlaced(cqrs.NotificationEvent[Order], frozen=True):
    pass


def mediator(record: IO[str]) -> cqrs.EventMediator:
    class RecordHandler(cqrs.EventHandler[OrderPlaced]):
        async def handle(self, event: OrderPlaced) -> None:
            record.write(f"{event.event_id}\n")
            record.flush()
            os.fsync(record.fileno())

    return events_bootstrap.bootstrap(
        di_container=di.Container(),
        events_mapper=lambda mapper: mapper.bind(OrderPlaced, RecordHandler),
    )


async def main(url: str, queue: str, record_path: str, prefetch: int) -> None:
    broker = RabbitBroker(url, logger=None)
    subscriber = broker.subscriber(
        RabbitQueue(queue, durable=False, auto_delete=False),
        channel=Channel(prefetch_count=prefetch),
        ack_policy=AckPolicy.MANUAL,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    with open(record_path, "a", encoding="utf-8") as record:  # noqa: ASYNC230, PTH123 - a local file, fsync'd per line
        subscribe_events(
            subscriber,
            mediator(record),
            OrderPlaced,
            dead_letter=DeadLetterTopic(FastStreamMessageBroker(broker), f"{queue}.dead-letter"),
            retry=Retry(attempts=3, wait_initial=0.01, wait_max=0.05, wait_jitter=0),
        )
        await broker.start()
        try:
            await stop.wait()
        finally:
            await broker.stop()


if __name__ == "__main__":
    url_arg, queue_arg, record_arg, prefetch_arg = sys.argv[1:5]
    asyncio.run(main(url_arg, queue_arg, record_arg, int(prefetch_arg)))
