"""Peak memory of one long stream: one event per item, parallel event processing.

Usage:
    python benchmarks/stream_memory.py                 # 1,000,000 items
    python benchmarks/stream_memory.py --items 50000   # quicker

Prints the process's peak RSS after item 10,000 and at the end; their difference is
what the stream accumulated (the target is under 10 MB: nothing is kept per item).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import AsyncIterator

import di

import cqrs
from cqrs.requests import bootstrap

WARM_UP_ITEMS = 10_000


class Tick(cqrs.Response):
    n: int


class Count(cqrs.Request[Tick]):
    items: int


class Ticked(cqrs.DomainEvent, frozen=True):
    n: int


class CountHandler(cqrs.StreamingRequestHandler[Count, Tick]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Count) -> AsyncIterator[Tick]:
        for n in range(request.items):
            self._events.append(Ticked(n=n))
            yield Tick(n=n)


class TickedHandler(cqrs.EventHandler[Ticked]):
    async def handle(self, event: Ticked) -> None:
        return None


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Count, CountHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Ticked, TickedHandler)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def run(items: int) -> tuple[float, float, float]:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        max_concurrent_event_handlers=10,
        concurrent_event_handle_enable=True,
    )
    after_warm_up = 0.0
    started = time.perf_counter()
    async for tick in mediator.stream(Count(items=items)):
        if tick.n == WARM_UP_ITEMS - 1:
            after_warm_up = peak_rss_mb()
    return after_warm_up, peak_rss_mb(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000)
    args = parser.parse_args()
    items = max(args.items, WARM_UP_ITEMS + 1)
    after_warm_up, at_end, seconds = asyncio.run(run(items))
    print(f"items streamed:            {items:,} in {seconds:.1f} s")
    print(f"peak RSS after {WARM_UP_ITEMS:,} items: {after_warm_up:8.1f} MB")
    print(f"peak RSS at the end:       {at_end:8.1f} MB")
    print(f"growth:                    {at_end - after_warm_up:8.1f} MB")


if __name__ == "__main__":
    main()
