"""Positive: `stream` is called without `await`; its items have the declared type."""

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import di
from typing_extensions import assert_type

import cqrs
from cqrs.requests import bootstrap


class ImportedRow(cqrs.Response):
    row: int


class Import(cqrs.Request[ImportedRow]):
    rows: int


class ImportHandler(cqrs.StreamingRequestHandler[Import, ImportedRow]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return self._events.copy()

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: Import) -> AsyncIterator[ImportedRow]:
        for row in range(request.rows):
            yield ImportedRow(row=row)


class Tail(cqrs.Request):  # bare form: items are Any
    pass


class TailHandler(cqrs.StreamingRequestHandler[Tail, str]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Tail) -> AsyncIterator[str]:
        yield "line"


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Import, ImportHandler)
    mapper.bind(Tail, TailHandler)


async def main() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(), commands_mapper=commands_mapper
    )
    stream = mediator.stream(Import(rows=3))
    assert_type(stream, AsyncGenerator[ImportedRow, None])

    async for item in mediator.stream(Import(rows=3)):
        assert_type(item, ImportedRow)
        assert_type(item.row, int)

    async for line in mediator.stream(Tail()):
        assert_type(line, Any)

    rows = [item async for item in mediator.stream(Import(rows=2))]
    assert_type(rows, list[ImportedRow])
    assert_type(await anext(mediator.stream(Import(rows=1))), ImportedRow)
