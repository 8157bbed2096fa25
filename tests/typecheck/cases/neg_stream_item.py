"""Negative: a stream item used as another type; `stream` awaited or iterated without async."""

import cqrs


class Row(cqrs.Response):
    row: int


class Import(cqrs.Request[Row]):
    rows: int


def takes_str(text: str) -> None:
    pass


async def main(mediator: cqrs.StreamingRequestMediator) -> None:
    async for item in mediator.stream(Import(rows=1)):
        takes_str(item)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        takes_str(item.row)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        item.text = "x"  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    await mediator.stream(Import(rows=1))  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]
    for _ in mediator.stream(Import(rows=1)):  # type: ignore[attr-defined]  # pyright: ignore[reportGeneralTypeIssues, reportUnknownVariableType]
        pass
    rows: list[str] = [item async for item in mediator.stream(Import(rows=1))]  # type: ignore[misc]  # pyright: ignore[reportAssignmentType]
    print(rows)
