"""Mediator overhead against a direct handler call, measured in one run.

Usage:
    python benchmarks/bench.py            # full run
    python benchmarks/bench.py --quick    # a few iterations (CI runs this so it cannot rot)

Prints, per case, the minimum over the repeats in microseconds per operation and the
ratio to the baseline (a direct `await handler.handle(request)`) of the same run.
Timings are never asserted: these machines are noisy, so compare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import di
from di.dependent import Dependent

import cqrs
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import CORRequestHandler

# --- the workload ---------------------------------------------------------------


class Pong(cqrs.Response):
    n: int


class Ping(cqrs.Request[Pong]):
    n: int


class PingHandler(cqrs.RequestHandler[Ping, Pong]):
    async def handle(self, request: Ping) -> Pong:
        return Pong(n=request.n)


class Happened(cqrs.DomainEvent, frozen=True):
    n: int


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        return None


class PingWithEvents(cqrs.Request[Pong]):
    n: int


class PingWithEventsHandler(cqrs.RequestHandler[PingWithEvents, Pong]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: PingWithEvents) -> Pong:
        self._events = [Happened(n=request.n), Happened(n=request.n + 1)]
        return Pong(n=request.n)


class Count(cqrs.Request[Pong]):
    items: int


class CountHandler(cqrs.StreamingRequestHandler[Count, Pong]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Count) -> AsyncIterator[Pong]:
        for n in range(request.items):
            self._events.append(Happened(n=n))
            yield Pong(n=n)


class Clock:
    pass


class Users:
    pass


class Mailer:
    pass


class PingWithDeps(cqrs.Request[Pong]):
    n: int


class PingWithDepsHandler(cqrs.RequestHandler[PingWithDeps, Pong]):
    def __init__(self, clock: Clock, users: Users, mailer: Mailer) -> None:
        self._deps = (clock, users, mailer)

    async def handle(self, request: PingWithDeps) -> Pong:
        return Pong(n=request.n)


class PingWithFallback(cqrs.Request[Pong]):
    n: int


class PrimaryPing(cqrs.RequestHandler[PingWithFallback, Pong]):
    async def handle(self, request: PingWithFallback) -> Pong:
        return Pong(n=request.n)


class FallbackPing(cqrs.RequestHandler[PingWithFallback, Pong]):
    async def handle(self, request: PingWithFallback) -> Pong:
        return Pong(n=-request.n)


class PingChain(cqrs.Request[Pong]):
    n: int


class PassOn(CORRequestHandler[PingChain, Pong]):
    async def handle(self, request: PingChain) -> Pong | None:
        return await self.next(request)


class PassOnAgain(PassOn):
    pass


class Answer(CORRequestHandler[PingChain, Pong]):
    async def handle(self, request: PingChain) -> Pong | None:
        return Pong(n=request.n)


def requests_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Ping, PingHandler)
    mapper.bind(PingWithFallback, cqrs.RequestHandlerFallback(PrimaryPing, FallbackPing))
    mapper.bind(PingChain, [PassOn, PassOnAgain, Answer])
    mapper.bind(PingWithEvents, PingWithEventsHandler)
    mapper.bind(PingWithDeps, PingWithDepsHandler)


def streams_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Count, CountHandler)


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(Happened, HappenedHandler)


def container() -> di.Container:
    c = di.Container()
    c.bind(di.bind_by_type(Dependent(Clock, scope="singleton"), Clock))
    c.bind(di.bind_by_type(Dependent(Users, scope="request"), Users))
    return c


# --- measuring ------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    name: str
    per_op_us: float
    ratio: float | None = None


async def per_call(loops: int, op: Callable[[], Awaitable[object]]) -> float:
    """Mean time of one call of `op` over `loops` calls, in µs."""
    started = time.perf_counter()
    for _ in range(loops):
        await op()
    return (time.perf_counter() - started) / loops * 1e6


async def best_of_interleaved(
    repeats: int, cases: list[tuple[int, Callable[[], Awaitable[object]]]]
) -> list[float]:
    """Minimum over `repeats` rounds of each case's time per call, in µs.

    Each round times every case once, in turn, so that a slow spell of the machine
    hits the baseline and the cases alike instead of skewing their ratios.
    """
    for loops, op in cases:  # warm-up
        for _ in range(min(loops, 100)):
            await op()
    best = [float("inf")] * len(cases)
    for _ in range(repeats):
        for index, (loops, op) in enumerate(cases):
            best[index] = min(best[index], await per_call(loops, op))
    return best


async def measure(repeats: int, loops: int, stream_items: int) -> list[Result]:
    mediator = bootstrap.bootstrap(
        di_container=container(),
        commands_mapper=requests_mapper,
        domain_events_mapper=events_mapper,
        max_concurrent_event_handlers=4,
        concurrent_event_handle_enable=True,
    )
    streaming = bootstrap.bootstrap_streaming(
        di_container=container(),
        commands_mapper=streams_mapper,
        domain_events_mapper=events_mapper,
        max_concurrent_event_handlers=4,
        concurrent_event_handle_enable=True,
    )
    handler = PingHandler()
    ping = Ping(n=1)
    ping_events = PingWithEvents(n=1)
    ping_deps = PingWithDeps(n=1)
    ping_fallback = PingWithFallback(n=1)
    ping_chain = PingChain(n=1)

    async def drain() -> None:
        async for _ in streaming.stream(Count(items=stream_items)):
            pass

    cases: list[tuple[str, int, int, Callable[[], Awaitable[object]]]] = [
        ("baseline: await handler.handle(request)", loops, 1, lambda: handler.handle(ping)),
        ("send() through bootstrap(), default middleware", loops, 1, lambda: mediator.send(ping)),
        (
            "send() raising 2 domain events, parallel, limit 4",
            loops,
            1,
            lambda: mediator.send(ping_events),
        ),
        (f"stream of {stream_items} items, 1 event each (per item)", 1, stream_items, drain),
        ("send() to a handler with 3 di dependencies", loops, 1, lambda: mediator.send(ping_deps)),
        (
            "send() through a fallback pair (primary answers)",
            loops,
            1,
            lambda: mediator.send(ping_fallback),
        ),
        (
            "send() through a 3-link chain (last answers)",
            loops,
            1,
            lambda: mediator.send(ping_chain),
        ),
    ]
    timings = await best_of_interleaved(repeats, [(n, op) for _, n, _, op in cases])
    per_op = [timing / items for timing, (_, _, items, _) in zip(timings, cases, strict=True)]
    baseline = per_op[0]
    return [
        Result(name, value, value / baseline)
        for value, (name, _, _, _) in zip(per_op, cases, strict=True)
    ]


def import_time_ms(repeats: int) -> float:
    """`import cqrs` in a fresh interpreter, as an installed package imports: from bytecode.

    pip compiles an installed package's modules; a checkout run with
    PYTHONDONTWRITEBYTECODE set would compile every module on every import instead,
    so bytecode writing is allowed here, and the first import (which writes it) is
    not counted.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import time; s = time.perf_counter(); import cqrs; print(time.perf_counter() - s)"
    best = float("inf")
    for attempt in range(repeats + 1):
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
        )
        if attempt:
            best = min(best, float(out.stdout))
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="few iterations, to check the script runs"
    )
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    repeats = 2 if args.quick else max(5, args.repeats)
    loops = 200 if args.quick else 20_000
    stream_items = 200 if args.quick else 10_000
    results = asyncio.run(measure(repeats, loops, stream_items))
    print(f"min of {repeats} repeats; ratio = case / baseline in this run\n")
    print(f"{'case':<58} {'us/op':>10} {'ratio':>8}")
    for r in results:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else ""
        print(f"{r.name:<58} {r.per_op_us:>10.2f} {ratio:>8}")
    print(f"{'import cqrs (fresh interpreter), ms':<58} {import_time_ms(repeats):>10.1f}")


if __name__ == "__main__":
    main()
