"""Negative (issue 9): a `cqrs.StreamingRequest` is never sent, nor bound to a plain
handler or a chain."""

import dataclasses

import cqrs
from cqrs.requests.cor_request_handler import CORRequestHandler


class Item(cqrs.Response):
    number: int


class ListItems(cqrs.StreamingRequest[Item]):
    count: int


@dataclasses.dataclass
class ListItemsDC(cqrs.DCStreamingRequest[Item]):
    count: int


class FirstItemHandler(cqrs.RequestHandler[ListItems, Item]):
    async def handle(self, request: ListItems) -> Item:
        return Item(number=0)


class FirstItemLink(CORRequestHandler[ListItems, Item]):
    async def handle(self, request: ListItems) -> Item | None:
        return None


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(ListItems, FirstItemHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(ListItems, [FirstItemLink])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


async def main(mediator: cqrs.RequestMediator) -> None:
    await mediator.send(ListItems(count=1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await mediator.send(ListItemsDC(count=1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
