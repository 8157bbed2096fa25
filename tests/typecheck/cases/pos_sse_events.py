"""Positive: `sse_response(event=...)` takes a name, or a callable typed by the stream's items."""

from collections.abc import AsyncIterator

from typing_extensions import assert_type

import cqrs
from cqrs.integrations.fastapi import EventStreamResponse, sse_response


class FileProcessed(cqrs.Response):
    file_name: str
    lines: int


class ProcessFiles(cqrs.Request[FileProcessed]):
    file_names: list[str]


def by_size(item: FileProcessed) -> str | None:
    return "large" if item.lines > 100 else None


def always(item: object) -> str:  # a callable of a wider type fits too
    return "item"


def endpoints(mediator: cqrs.StreamingRequestMediator) -> list[EventStreamResponse]:
    command = ProcessFiles(file_names=["a.csv"])

    def name_of(item: FileProcessed) -> str:
        assert_type(item, FileProcessed)
        return item.file_name

    return [
        sse_response(mediator.stream(command)),
        sse_response(mediator.stream(command), event=None),
        sse_response(mediator.stream(command), event="progress"),
        sse_response(mediator.stream(command), event=name_of),
        sse_response(mediator.stream(command), event=by_size),
        sse_response(mediator.stream(command), event=always),
        sse_response(mediator.stream(command), event=lambda item: item.file_name),
        sse_response(mediator.stream(command), event=lambda item: None),
    ]


async def numbers() -> AsyncIterator[int]:
    yield 1


def plain_stream() -> EventStreamResponse:
    return sse_response(numbers(), event=lambda n: "even" if n % 2 == 0 else "odd")
