"""Mediator overhead against a direct handler call, measured in one run.

Usage:
    python benchmarks/bench.py            # full run
    python benchmarks/bench.py --quick    # a few iterations (CI runs this so it cannot rot)

Prints, per case, the minimum over the repeats in microseconds per operation and the
ratio to its baseline in the same run: the `baseline:` row above it, the same work done
by calling the handlers (and the broker) directly. Then `import cqrs` against its floor,
its dependencies imported alone, in fresh interpreters taking turns. Timings are never
asserted: these machines are noisy, so compare ratios. `benchmarks/compare.py` puts the
same mediator against python-cqrs 4.x and 5.x.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import di
import pydantic
from di.dependent import Dependent

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.message_brokers.protocol import Message
from cqrs.middlewares.base import Handle
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


class PassThrough:
    """A middleware that does nothing but call the next step."""

    async def __call__(self, request: object, handle: Handle[Any, Any], /) -> object:
        return await handle(request)


class Arrived(cqrs.DomainEvent, frozen=True):
    """An event received from outside: `EventMediator.send`, the consumer path."""

    n: int


class RecordArrival(cqrs.EventHandler[Arrived]):
    async def handle(self, event: Arrived) -> None:
        return None


class CountArrival(cqrs.EventHandler[Arrived]):
    async def handle(self, event: Arrived) -> None:
        return None


class NoticePayload(pydantic.BaseModel):
    n: int


class Noticed(cqrs.NotificationEvent[NoticePayload], frozen=True):
    pass


class Notify(cqrs.Request[Pong]):
    n: int


class NotifyHandler(cqrs.RequestHandler[Notify, Pong]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Notify) -> Pong:
        payload = NoticePayload(n=request.n)
        self._events = [Noticed(event_name="noticed", topic="notices", payload=payload)]
        return Pong(n=request.n)


class NoopBroker:
    """A `MessageBroker` whose `send_message` does nothing."""

    async def send_message(self, message: Message, /) -> None:
        return None


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


def arrivals_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(Arrived, RecordArrival)
    mapper.bind(Arrived, CountArrival)


def notify_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Notify, NotifyHandler)


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


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    loops: int  # calls of `op` per round
    items: int  # operations per call (a stream's items)
    op: Callable[[], Awaitable[object]]
    baseline: bool = False  # the direct-call baseline of the cases after it


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


def request_cases(loops: int, stream_items: int) -> list[Case]:
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
    # The same mediator as above, with 3 no-op middlewares before the default one.
    middlewares = [PassThrough(), PassThrough(), PassThrough()]
    wrapped = bootstrap.bootstrap(
        di_container=container(),
        middlewares=middlewares,
        commands_mapper=requests_mapper,
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

    return [
        Case(
            "baseline: await handler.handle(request)",
            loops,
            1,
            lambda: handler.handle(ping),
            baseline=True,
        ),
        Case(
            "send() through bootstrap(), default middleware", loops, 1, lambda: mediator.send(ping)
        ),
        Case(
            "send() raising 2 domain events, parallel, limit 4",
            loops,
            1,
            lambda: mediator.send(ping_events),
        ),
        Case(f"stream of {stream_items} items, 1 event each (per item)", 1, stream_items, drain),
        Case(
            "send() to a handler with 3 di dependencies", loops, 1, lambda: mediator.send(ping_deps)
        ),
        Case(
            "send() through a fallback pair (primary answers)",
            loops,
            1,
            lambda: mediator.send(ping_fallback),
        ),
        Case(
            "send() through a 3-link chain (last answers)",
            loops,
            1,
            lambda: mediator.send(ping_chain),
        ),
        Case(
            "send() through 3 no-op middlewares (+ the default one)",
            loops,
            1,
            lambda: wrapped.send(ping),
        ),
    ]


def consumer_cases(loops: int) -> list[Case]:
    """`EventMediator.send`, against calling the event's two handlers directly."""
    mediator = events_bootstrap.bootstrap(
        di_container=di.Container(), events_mapper=arrivals_mapper
    )
    first, second = RecordArrival(), CountArrival()
    event = Arrived(n=1)

    async def direct() -> None:
        await first.handle(event)
        await second.handle(event)

    return [
        Case(
            "baseline: 2 handlers' handle(event), called directly", loops, 1, direct, baseline=True
        ),
        Case("EventMediator.send(event), 2 handlers bound", loops, 1, lambda: mediator.send(event)),
    ]


def notification_cases(loops: int) -> list[Case]:
    """A handler raising one notification event, against the handler and broker called by hand.

    The by-hand baseline builds the `Message` a broker takes from the event, as the
    mediator does, and calls `send_message` on the same no-op broker.
    """
    broker = NoopBroker()
    # propagate_event_errors: a publish that fails must fail the benchmark, not look fast.
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        message_broker=broker,
        commands_mapper=notify_mapper,
        max_concurrent_event_handlers=4,
        concurrent_event_handle_enable=True,
        propagate_event_errors=True,
    )
    handler = NotifyHandler()
    request = Notify(n=1)

    async def direct() -> None:
        await handler.handle(request)
        events: Sequence[cqrs.IEvent] = handler.events
        for event in events:
            assert isinstance(event, Noticed)
            message = Message(
                message_name=type(event).__name__,
                message_id=event.event_id,
                topic=event.topic,
                payload=event.to_dict(),
            )
            await broker.send_message(message)

    return [
        Case(
            "baseline: handle(request), then broker.send_message()", loops, 1, direct, baseline=True
        ),
        Case(
            "send() raising 1 notification event, no-op broker",
            loops,
            1,
            lambda: mediator.send(request),
        ),
    ]


async def measure(repeats: int, loops: int, stream_items: int) -> list[Result]:
    cases = [
        *request_cases(loops, stream_items),
        *consumer_cases(loops),
        *notification_cases(loops),
    ]
    timings = await best_of_interleaved(repeats, [(case.loops, case.op) for case in cases])
    results: list[Result] = []
    baseline = float("nan")
    for timing, case in zip(timings, cases, strict=True):
        per_op = timing / case.items
        if case.baseline:
            baseline = per_op
        results.append(Result(case.name, per_op, per_op / baseline))
    return results


IMPORT_CQRS = "import cqrs"
# What `import cqrs` cannot go below: its dependencies (and asyncio) imported alone.
IMPORT_FLOOR = "from pydantic import BaseModel; import di, typing_extensions, asyncio"


def import_times_ms(repeats: int) -> tuple[float, float]:
    """`import cqrs` and its floor, each in fresh interpreters: the min of each, in ms.

    As an installed package imports, from bytecode: pip compiles an installed
    package's modules, while a checkout run with PYTHONDONTWRITEBYTECODE set would
    compile every module on every import instead. So bytecode writing is allowed
    here, and the first round (which writes it) is not counted. The two alternate,
    so that a slow spell of the machine hits both.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    statements = (IMPORT_CQRS, IMPORT_FLOOR)
    best = dict.fromkeys(statements, float("inf"))
    for attempt in range(repeats + 1):
        for statement in statements:
            code = (
                f"import time; s = time.perf_counter(); {statement}; print(time.perf_counter() - s)"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
            )
            if attempt:
                best[statement] = min(best[statement], float(out.stdout))
    return best[IMPORT_CQRS] * 1e3, best[IMPORT_FLOOR] * 1e3


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
    import_repeats = 2 if args.quick else max(9, args.repeats)
    results = asyncio.run(measure(repeats, loops, stream_items))
    cqrs_ms, floor_ms = import_times_ms(import_repeats)
    print(f"min of {repeats} repeats; ratio = case / the baseline row above it, in this run\n")
    print(f"{'case':<58} {'us/op':>10} {'ratio':>8}")
    for r in results:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else ""
        print(f"{r.name:<58} {r.per_op_us:>10.2f} {ratio:>8}")
    print(
        f"\nimport cqrs against its floor, in fresh interpreters from bytecode "
        f"(min of {import_repeats} each, alternating)\nfloor: {IMPORT_FLOOR}\n"
    )
    print(f"{'case':<58} {'ms':>10} {'ratio':>8}")
    print(f"{'baseline: the floor':<58} {floor_ms:>10.1f} {'1.0x':>8}")
    print(f"{IMPORT_CQRS:<58} {cqrs_ms:>10.1f} {f'{cqrs_ms / floor_ms:.1f}x':>8}")


if __name__ == "__main__":
    main()
