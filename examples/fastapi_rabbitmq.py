"""The streaming FastAPI app, publishing a `FileProcessed` event per file to RabbitMQ.

One half of a service that scales out through RabbitMQ: this app streams each processed
file to the client as Server-Sent Events and publishes a `FileProcessed` notification
event per file to the durable queue `files.processed`; any number of consumers
(`examples/faststream_consumer.py`) share the work of handling them.

With RabbitMQ on 127.0.0.1:5672 (guest/guest), start it from the repository root with
either of:

    python examples/fastapi_rabbitmq.py
    uvicorn examples.fastapi_rabbitmq:app

then stream a command:

    curl -N -X POST http://127.0.0.1:8000/process-files \\
        -H 'Content-Type: application/json' \\
        -d '{"file_names": ["orders.csv", "customers.csv", "invoices.csv"]}'

Each file arrives as one `data:` frame once its events are handled: the domain event
in this process, the notification event published to RabbitMQ (and confirmed by it).
The queue is declared durable at start-up, so the events wait there until a consumer
runs. Settings: `CQRS_RABBITMQ_URL` (default amqp://guest:guest@127.0.0.1:5672/) and
`CQRS_EXAMPLE_TOPIC` (default files.processed), read at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Annotated, Final

import di
import fastapi
import pydantic
import uvicorn
from faststream.rabbit import RabbitBroker, RabbitQueue

import cqrs
from cqrs.adapters.faststream import FastStreamMessageBroker
from cqrs.integrations.fastapi import EventStreamResponse, MediatorProvider, sse_response
from cqrs.requests import bootstrap

logger = logging.getLogger("examples.fastapi_rabbitmq")

RABBITMQ_URL: Final = os.environ.get("CQRS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TOPIC: Final = os.environ.get("CQRS_EXAMPLE_TOPIC", "files.processed")
"""The queue the `FileProcessed` events go to (through RabbitMQ's default exchange)."""

STEP_DELAY: Final = 0.2
"""Seconds the handler "works" on each file, so that you can watch frames arrive."""


# --- the event other services receive (examples/faststream_consumer.py declares the same) ---


class FileProcessedPayload(pydantic.BaseModel):
    file_name: str
    lines: int


class FileProcessed(cqrs.NotificationEvent[FileProcessedPayload], frozen=True):
    """Published to `TOPIC`; consumers decode it by its class name, `FileProcessed`."""

    event_name: str = "file_processed"
    topic: str = TOPIC


# --- requests, responses, domain events ---------------------------------------------------


class ProcessedFile(cqrs.Response):
    file_name: str
    lines: int
    processed_at: datetime.datetime


class ProcessFilesCommand(cqrs.Request[ProcessedFile]):
    file_names: list[str]


class FileIndexed(cqrs.DomainEvent, frozen=True):
    """Handled in this process, by `FileIndexedHandler`."""

    file_name: str
    lines: int


# --- handlers -----------------------------------------------------------------------------


class ProcessFilesHandler(cqrs.StreamingRequestHandler[ProcessFilesCommand, ProcessedFile]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: ProcessFilesCommand) -> AsyncIterator[ProcessedFile]:
        for file_name in request.file_names:
            await asyncio.sleep(STEP_DELAY)  # reading the file
            lines = len(file_name)
            self._events.append(FileIndexed(file_name=file_name, lines=lines))
            self._events.append(
                FileProcessed(payload=FileProcessedPayload(file_name=file_name, lines=lines))
            )
            yield ProcessedFile(
                file_name=file_name,
                lines=lines,
                processed_at=datetime.datetime.now(tz=datetime.timezone.utc),
            )


class FileIndexedHandler(cqrs.EventHandler[FileIndexed]):
    async def handle(self, event: FileIndexed) -> None:
        logger.info("indexed %s (%d lines)", event.file_name, event.lines)


# --- wiring ---------------------------------------------------------------------------------


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(ProcessFilesCommand, ProcessFilesHandler)


def domain_events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(FileIndexed, FileIndexedHandler)


rabbit_broker = RabbitBroker(RABBITMQ_URL)


@MediatorProvider
def streaming_mediator() -> cqrs.StreamingRequestMediator:
    """Built once, at start-up (see `lifespan`), and shared by every request."""
    return bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        commands_mapper=commands_mapper,
        domain_events_mapper=domain_events_mapper,
        message_broker=FastStreamMessageBroker(rabbit_broker),
        max_concurrent_event_handlers=3,
        concurrent_event_handle_enable=True,
    )


@contextlib.asynccontextmanager
async def lifespan(_: fastapi.FastAPI) -> AsyncGenerator[None, None]:
    await rabbit_broker.connect()
    try:
        # Durable: the events are kept until a consumer takes them, even if none runs yet.
        await rabbit_broker.declare_queue(RabbitQueue(TOPIC, durable=True))
        streaming_mediator.get()  # a wiring mistake stops the app here, not at a request
        logger.info("publishing FileProcessed events to queue %r", TOPIC)
        yield
    finally:
        await rabbit_broker.stop()


app = fastapi.FastAPI(title="cqrs streaming example over RabbitMQ", lifespan=lifespan)


@app.post("/process-files", response_class=EventStreamResponse)
async def process_files_stream(
    command: ProcessFilesCommand,
    mediator: Annotated[cqrs.StreamingRequestMediator, fastapi.Depends(streaming_mediator)],
) -> EventStreamResponse:
    return sse_response(
        mediator.stream(command),
        start={"message": "Processing..."},
        complete={"message": "Done"},
    )


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=8000)
