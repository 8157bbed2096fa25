"""A FastStream service that handles the `FileProcessed` events of `fastapi_rabbitmq.py`.

The other half of the scaled-out service: it takes the events from the durable queue
`files.processed` and runs them through an `EventMediator`. Start as many as you like;
RabbitMQ hands each message to one of them. From the repository root, with either of:

    python examples/faststream_consumer.py
    faststream run examples.faststream_consumer:app

Each event prints one line, `processed orders.csv (10 lines)`, and is acked once its
handler succeeded. A failing event is retried (3 attempts in all); a message that
still fails, or cannot be decoded, goes to the durable queue `files.processed.dead-letter`.
Settings: `CQRS_RABBITMQ_URL` and `CQRS_EXAMPLE_TOPIC`, as for the app.
"""

from __future__ import annotations

import asyncio
import os
from typing import Final

import di
import pydantic
from faststream import AckPolicy, FastStream
from faststream.rabbit import RabbitBroker, RabbitQueue

import cqrs
from cqrs.adapters.faststream import FastStreamMessageBroker
from cqrs.events import bootstrap
from cqrs.integrations.faststream import DeadLetterTopic, subscribe_events

RABBITMQ_URL: Final = os.environ.get("CQRS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TOPIC: Final = os.environ.get("CQRS_EXAMPLE_TOPIC", "files.processed")
DEAD_LETTER_TOPIC: Final = f"{TOPIC}.dead-letter"


# The event as the app publishes it: the wire names it by its class name.
class FileProcessedPayload(pydantic.BaseModel):
    file_name: str
    lines: int


class FileProcessed(cqrs.NotificationEvent[FileProcessedPayload], frozen=True):
    event_name: str = "file_processed"
    topic: str = TOPIC


class FileProcessedHandler(cqrs.EventHandler[FileProcessed]):
    async def handle(self, event: FileProcessed) -> None:
        print(f"processed {event.payload.file_name} ({event.payload.lines} lines)", flush=True)


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(FileProcessed, FileProcessedHandler)


broker = RabbitBroker(RABBITMQ_URL)
app = FastStream(broker)

subscribe_events(
    # The same declaration as the app's: durable, shared by every consumer.
    broker.subscriber(RabbitQueue(TOPIC, durable=True), ack_policy=AckPolicy.MANUAL),
    bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper),
    FileProcessed,
    dead_letter=DeadLetterTopic(FastStreamMessageBroker(broker), DEAD_LETTER_TOPIC),
)


@app.on_startup
async def declare_dead_letter_queue() -> None:
    # Before the subscriber starts: RabbitMQ refuses a dead letter for a missing queue.
    await broker.connect()
    await broker.declare_queue(RabbitQueue(DEAD_LETTER_TOPIC, durable=True))


if __name__ == "__main__":
    asyncio.run(app.run())
