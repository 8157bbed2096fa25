"""Positive (issue 9): the opt-in `cqrs.StreamingRequest` binds to a streaming handler
and is streamed; a bare `cqrs.Request` still serves either kind."""

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator

from typing_extensions import assert_type

import cqrs


class Item(cqrs.Response):
    number: int


class ListItems(cqrs.StreamingRequest[Item]):
    count: int


@dataclasses.dataclass
class ListItemsDC(cqrs.DCStreamingRequest[Item]):
    count: int


class ListAny(cqrs.Request[Item]):
    count: int


class ListItemsHandler(cqrs.StreamingRequestHandler[ListItems, Item]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListItems) -> AsyncIterator[Item]:
        for number in range(request.count):
            yield Item(number=number)


class ListItemsDCHandler(cqrs.StreamingRequestHandler[ListItemsDC, Item]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListItemsDC) -> AsyncIterator[Item]:
        yield Item(number=request.count)


class ListAnyHandler(cqrs.StreamingRequestHandler[ListAny, Item]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListAny) -> AsyncIterator[Item]:
        yield Item(number=request.count)


class GetFirst(cqrs.Request[Item]):
    pass


class GetFirstHandler(cqrs.RequestHandler[GetFirst, Item]):
    async def handle(self, request: GetFirst) -> Item:
        return Item(number=0)


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(ListItems, ListItemsHandler)
    mapper.bind(ListItemsDC, ListItemsDCHandler)
    mapper.bind(ListAny, ListAnyHandler)
    mapper.bind(GetFirst, GetFirstHandler)


async def main(streaming: cqrs.StreamingRequestMediator, plain: cqrs.RequestMediator) -> None:
    assert_type(streaming.stream(ListItems(count=2)), AsyncGenerator[Item, None])
    async for item in streaming.stream(ListItemsDC(count=1)):
        assert_type(item, Item)
    async for item in streaming.stream(ListAny(count=1)):
        assert_type(item, Item)
    assert_type(await plain.send(GetFirst()), Item)
    request: cqrs.IRequest[Item] = ListItems(count=1)
    print(request)
