"""Negative: a streaming handler bound to the wrong request, or streaming the wrong type."""

from collections.abc import AsyncIterator

import cqrs


class Row(cqrs.Response):
    row: int


class Line(cqrs.Response):
    text: str


class Import(cqrs.Request[Row]):
    rows: int


class Export(cqrs.Request[Row]):
    rows: int


class Tail(cqrs.Request[Line]):
    pass


class ImportHandler(cqrs.StreamingRequestHandler[Import, Row]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Import) -> AsyncIterator[Row]:
        yield Row(row=1)


class ImportLinesHandler(cqrs.StreamingRequestHandler[Import, Line]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Import) -> AsyncIterator[Line]:
        yield Line(text="1")


def mapper(m: cqrs.RequestMap) -> None:
    m.bind(Export, ImportHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(Tail, ImportHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(Import, ImportLinesHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
