"""A FastAPI app that streams a command's progress as Server-Sent Events.

Start it (from the repository root) with either of:

    uvicorn examples.fastapi_sse:app
    python examples/fastapi_sse.py

and watch a stream:

    curl -N -X POST http://127.0.0.1:8000/process-files \\
        -H 'Content-Type: application/json' \\
        -d '{"file_names": ["orders.csv", "customers.csv", "invoices.csv"]}'

or the same command as a GET, which is what a browser's `EventSource` sends:

    curl -N 'http://127.0.0.1:8000/process-files?files=orders.csv&files=customers.csv'

or open http://127.0.0.1:8000/ in a browser: the page (examples/static/sse_client.html)
reads the GET stream with `EventSource` and the POST stream with `fetch`.

Each processed file arrives as one `event: progress` frame the moment the handler
yields it, after the mediator has handled the file's domain events (in parallel, at
most 3 event handlers at once); `start` comes first and `complete` last (or `error`, if
the handler raises). When the stream ends, a notification event goes to the message
broker; `GET /published` lists what the broker received.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from pathlib import Path
from typing import Annotated, Protocol

import di
import fastapi
import uvicorn
from di.dependent import Dependent
from fastapi.responses import FileResponse

import cqrs
from cqrs.integrations.fastapi import EventStreamResponse, MediatorProvider, sse_response
from cqrs.message_brokers.protocol import Message
from cqrs.requests import bootstrap

logger = logging.getLogger("examples.fastapi_sse")

STEP_DELAY = 0.2
"""Seconds the handler "works" on each file, so that you can watch frames arrive."""

CLIENT_PAGE = Path(__file__).resolve().parent / "static" / "sse_client.html"


# --- requests, responses, events -----------------------------------------------------


class FileProcessed(cqrs.Response):
    file_name: str
    lines: int
    processed_at: datetime.datetime


class ProcessFilesCommand(cqrs.Request[FileProcessed]):
    file_names: list[str]


class FileProcessedEvent(cqrs.DomainEvent, frozen=True):
    file_name: str
    lines: int


class FilesImported(cqrs.NotificationEvent[dict[str, int]], frozen=True):
    event_name: str = "files_imported"
    topic: str = "imports"


# --- services the container injects ---------------------------------------------------


class FileStorage(Protocol):
    async def read_lines(self, file_name: str) -> list[str]: ...


class InMemoryFileStorage:
    """Stands in for a real file store: every file has a few lines."""

    async def read_lines(self, file_name: str) -> list[str]:
        await asyncio.sleep(STEP_DELAY)
        return [f"{file_name}:{number}" for number in range(len(file_name))]


class InMemoryBroker:
    """A message broker that keeps what it is sent (a real one publishes it)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        logger.info("published %s to %s", message.message_name, message.topic)
        self.messages.append(message)


# --- handlers -----------------------------------------------------------------------------


class ProcessFilesHandler(cqrs.StreamingRequestHandler[ProcessFilesCommand, FileProcessed]):
    def __init__(self, storage: FileStorage) -> None:
        self._storage = storage
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: ProcessFilesCommand) -> AsyncIterator[FileProcessed]:
        total = 0
        for file_name in request.file_names:
            lines = await self._storage.read_lines(file_name)
            total += len(lines)
            self._events.append(FileProcessedEvent(file_name=file_name, lines=len(lines)))
            yield FileProcessed(
                file_name=file_name,
                lines=len(lines),
                processed_at=datetime.datetime.now(tz=datetime.timezone.utc),
            )
        # Raised after the last item: still processed before the stream ends.
        self._events.append(
            FilesImported(payload={"files": len(request.file_names), "lines": total})
        )


class FileProcessedHandler(cqrs.EventHandler[FileProcessedEvent]):
    async def handle(self, event: FileProcessedEvent) -> None:
        logger.info("indexed %s (%d lines)", event.file_name, event.lines)


# --- wiring ---------------------------------------------------------------------------------


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(ProcessFilesCommand, ProcessFilesHandler)


def domain_events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(FileProcessedEvent, FileProcessedHandler)


broker = InMemoryBroker()


@MediatorProvider
def streaming_mediator() -> cqrs.StreamingRequestMediator:
    """Built once, at start-up (see `lifespan`), and shared by every request."""
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(InMemoryFileStorage, scope="singleton"), FileStorage))
    return bootstrap.bootstrap_streaming(
        di_container=container,
        commands_mapper=commands_mapper,
        domain_events_mapper=domain_events_mapper,
        message_broker=broker,
        max_concurrent_event_handlers=3,
        concurrent_event_handle_enable=True,
    )


@contextlib.asynccontextmanager
async def lifespan(_: fastapi.FastAPI) -> AsyncGenerator[None, None]:
    streaming_mediator.get()  # a wiring mistake stops the app here, not at a request
    yield


app = fastapi.FastAPI(title="cqrs streaming example", lifespan=lifespan)

StreamingMediator = Annotated[cqrs.StreamingRequestMediator, fastapi.Depends(streaming_mediator)]


def progress_stream(
    mediator: cqrs.StreamingRequestMediator, command: ProcessFilesCommand
) -> EventStreamResponse:
    return sse_response(
        mediator.stream(command),
        event="progress",  # browsers: source.addEventListener("progress", ...)
        start={"message": "Processing..."},
        complete={"message": "Done"},  # clients close on `complete` (or `error`)
    )


@app.post("/process-files", response_class=EventStreamResponse)
async def process_files_stream(
    command: ProcessFilesCommand, mediator: StreamingMediator
) -> EventStreamResponse:
    return progress_stream(mediator, command)


@app.get("/process-files", response_class=EventStreamResponse)
async def process_files_stream_get(
    files: Annotated[list[str], fastapi.Query(min_length=1)], mediator: StreamingMediator
) -> EventStreamResponse:
    """The same command for `EventSource`, which can only GET: `?files=a.csv&files=b.csv`.

    An `EventSource` left open reconnects when the stream ends, which would run the
    command again: the page closes it on `complete` and on `error`.
    """
    return progress_stream(mediator, ProcessFilesCommand(file_names=files))


@app.get("/", include_in_schema=False)
async def client_page() -> FileResponse:
    """A page that reads both streams in the browser (EventSource and fetch)."""
    return FileResponse(CLIENT_PAGE, media_type="text/html")


@app.get("/published")
async def published() -> list[dict[str, object]]:
    return [message.model_dump(mode="json") for message in broker.messages]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="127.0.0.1", port=8000)
