"""Negative: an `event=` that is not a name, or a callable of another item or result type."""

import cqrs
from cqrs.integrations.fastapi import sse_response


class FileProcessed(cqrs.Response):
    file_name: str
    lines: int


class ProcessFiles(cqrs.Request[FileProcessed]):
    file_names: list[str]


def by_lines(item: FileProcessed) -> int:
    return item.lines


def of_str(item: str) -> str:
    return item


def endpoints(mediator: cqrs.StreamingRequestMediator) -> None:
    stream = mediator.stream(ProcessFiles(file_names=["a.csv"]))
    sse_response(stream, event=5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    sse_response(stream, event=b"progress")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    sse_response(stream, event=by_lines)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    sse_response(stream, event=of_str)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    sse_response(stream, event=lambda item: item.lines)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType]
    sse_response(stream, event=lambda item: item.size)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownLambdaType, reportUnknownMemberType]
