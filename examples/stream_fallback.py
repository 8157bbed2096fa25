"""A streaming query whose live source fails midway: the archive takes over.

Run: python examples/stream_fallback.py

The live handler yields two prices and loses its connection; the fallback then
streams from the archive, from its own beginning. Items the primary already
delivered stay delivered, so a consumer can see an item twice (here: AAA, BBB):
make items idempotent or carry an id the consumer can de-duplicate on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import di

import cqrs
from cqrs.requests import bootstrap


class Price(cqrs.Response):
    symbol: str
    source: str


class WatchPrices(cqrs.Request[Price]):
    symbols: list[str]


class PriceSeen(cqrs.DomainEvent, frozen=True):
    symbol: str


class LivePrices(cqrs.StreamingRequestHandler[WatchPrices, Price]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return list(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: WatchPrices) -> AsyncIterator[Price]:
        for index, symbol in enumerate(request.symbols):
            if index == 2:  # noqa: PLR2004 - the point where the example's feed breaks
                msg = "live feed disconnected"
                raise ConnectionError(msg)
            self._events.append(PriceSeen(symbol=symbol))
            yield Price(symbol=symbol, source="live")


class ArchivedPrices(cqrs.StreamingRequestHandler[WatchPrices, Price]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return list(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: WatchPrices) -> AsyncIterator[Price]:
        for symbol in request.symbols:
            self._events.append(PriceSeen(symbol=symbol))
            yield Price(symbol=symbol, source="archive")


class CountSeen(cqrs.EventHandler[PriceSeen]):
    seen: list[str] = []

    async def handle(self, event: PriceSeen) -> None:
        CountSeen.seen.append(event.symbol)


def queries(mapper: cqrs.RequestMap) -> None:
    mapper.bind(
        WatchPrices,
        cqrs.RequestHandlerFallback(
            LivePrices, ArchivedPrices, failure_exceptions=(ConnectionError,)
        ),
    )


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(PriceSeen, CountSeen)


async def main() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(), queries_mapper=queries, domain_events_mapper=events
    )
    async for price in mediator.stream(WatchPrices(symbols=["AAA", "BBB", "CCC", "DDD"])):
        print(f"{price.symbol} from {price.source}")
    print(f"events handled: {len(CountSeen.seen)}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the fallback warning is expected here
    asyncio.run(main())
