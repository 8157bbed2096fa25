"""The workloads of `benchmarks/compare.py`, timed: run by it, never imported.

Written once against python-cqrs's API and run, unchanged, by three interpreters, each in
its own process since all three distributions import as `cqrs`: ours (the project's venv;
this package is a drop-in for python-cqrs 4.x), python-cqrs 4.x (`.venv-pycqrs/`) and
python-cqrs 5.x (`.venv-pycqrs5/`). Where 5.x changed its API, this script adapts:

- the bootstraps moved from `cqrs.requests.bootstrap`, `cqrs.events.bootstrap` and
  `cqrs.saga.bootstrap` to `cqrs.bootstrap.requests`, `.events` and `.saga`;
- `SagaMediator.stream(context, saga_id=...)` became `SagaMediator.execute(...)`;
- `cqrs.Request`, `cqrs.Response` and `cqrs.DomainEvent` became dataclasses (pydantic is
  an extra), so the models are named explicitly: `--models pydantic` (the default of ours
  and of 4.x) uses `PydanticRequest`, `PydanticResponse`, `PydanticDomainEvent` in all
  three; `--models dataclass` (5.x's default) uses `DCRequest`, `DCResponse`,
  `DCDomainEvent` in all three.

The workloads (each mediator from its bootstrap over a `di.Container`, every handler
resolved by the container; events handled in parallel, at most 4 at a time):

- "direct": `await handler.handle(request)` on a handler built once (the floor);
- "send": `send(request)`, one handler, no events, the default middleware;
- "events": `send(request)` whose handler raises 2 domain events, each with one handler;
- "stream": one `stream(request)` of N items, the handler raising one domain event per
  item (timed per item);
- "saga": N 3-step sagas, one after another, through the saga mediator from the saga
  bootstrap with `MemorySagaStorage` (each step sets a flag on a dataclass context and
  returns a small `Response`); a fresh storage and mediator each round, warmed up by one
  saga, and fresh contexts and saga ids, all made before the clock.

A long-lived process, so that its rounds interleave with the other libraries': it reads
one JSON command per line on stdin and answers each with one JSON line on stdout (the
first line, before any command, is {"versions": {...}, "cqrs_logger": level, "pid": ...}):

- {"op": "run", "workload": W, "loops": N}: one round of W, N operations; answers
  {"us": microseconds per operation}.
- {"op": "quit"}.

`--cqrs-log-level`: python-cqrs 4.x and 5.x set the "cqrs" logger to DEBUG when imported
(ours leaves it alone), so their default middleware builds two debug records per send;
"shipped" (the default) leaves every library as it sets itself up, a level name (WARNING)
sets the "cqrs" logger to it after the imports, in every library.

Every round is checked after the clock stops (the event handlers ran as often as they
should, every saga ran its 3 steps and the last is stored COMPLETED); a failure answers
{"error": "..."}.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import importlib
import importlib.metadata
import json
import logging
import os
import sys
import time
import traceback
import uuid

import di

import cqrs
from cqrs.saga.models import SagaContext
from cqrs.saga.storage.enums import SagaStatus
from cqrs.saga.storage.memory import MemorySagaStorage


def distribution() -> tuple[str, str]:
    """Which `cqrs` this is: (distribution, version)."""
    for name in ("python-cqrs", "cqrs-typed"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return name, importlib.metadata.version(name)
    return "cqrs", "?"


DISTRIBUTION, VERSION = distribution()
PYCQRS_5 = DISTRIBUTION == "python-cqrs" and int(VERSION.split(".")[0]) >= 5

if PYCQRS_5:
    requests_bootstrap = importlib.import_module("cqrs.bootstrap.requests")
    saga_bootstrap = importlib.import_module("cqrs.bootstrap.saga")
else:
    requests_bootstrap = importlib.import_module("cqrs.requests.bootstrap")
    saga_bootstrap = importlib.import_module("cqrs.saga.bootstrap")

parser = argparse.ArgumentParser()
parser.add_argument("--models", choices=("pydantic", "dataclass"), default="pydantic")
parser.add_argument("--cqrs-log-level", default="shipped", help='"shipped", or a level name')
ARGS = parser.parse_args()
MODELS = ARGS.models
# python-cqrs (4.x and 5.x) sets the "cqrs" logger to DEBUG when imported, so that every
# send builds its debug records; "shipped" leaves that as it is, a level name overrides it.
if ARGS.cqrs_log_level != "shipped":
    logging.getLogger("cqrs").setLevel(ARGS.cqrs_log_level)

# --- the models ---------------------------------------------------------------------------


def as_dataclass(*, frozen: bool = False):
    """`@dataclasses.dataclass`, unless the base already made the class one (5.x's do)."""

    def wrap(cls):
        if "__dataclass_params__" in cls.__dict__:
            return cls
        return dataclasses.dataclass(frozen=frozen)(cls)

    return wrap


if MODELS == "pydantic":

    class Pong(cqrs.PydanticResponse):
        n: int

    class Ping(cqrs.PydanticRequest):
        n: int

    class PingWithEvents(cqrs.PydanticRequest):
        n: int

    class Count(cqrs.PydanticRequest):
        items: int

    class Happened(cqrs.PydanticDomainEvent, frozen=True):
        n: int

    class StepDone(cqrs.PydanticResponse):
        order_id: str
        step: str

else:

    @as_dataclass()
    class Pong(cqrs.DCResponse):
        n: int

    @as_dataclass()
    class Ping(cqrs.DCRequest):
        n: int

    @as_dataclass()
    class PingWithEvents(cqrs.DCRequest):
        n: int

    @as_dataclass()
    class Count(cqrs.DCRequest):
        items: int

    @as_dataclass(frozen=True)
    class Happened(cqrs.DCDomainEvent):
        n: int

    @as_dataclass()
    class StepDone(cqrs.DCResponse):
        order_id: str
        step: str


# --- the handlers -------------------------------------------------------------------------

HANDLED = [0]  # events handled, checked after each round


class PingHandler(cqrs.RequestHandler[Ping, Pong]):
    async def handle(self, request: Ping) -> Pong:
        return Pong(n=request.n)


class PingWithEventsHandler(cqrs.RequestHandler[PingWithEvents, Pong]):
    def __init__(self) -> None:
        self._events = []

    @property
    def events(self):
        return self._events

    async def handle(self, request: PingWithEvents) -> Pong:
        self._events = [Happened(n=request.n), Happened(n=request.n + 1)]
        return Pong(n=request.n)


class CountHandler(cqrs.StreamingRequestHandler[Count, Pong]):
    def __init__(self) -> None:
        self._events = []

    @property
    def events(self):
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Count):
        for n in range(request.items):
            self._events.append(Happened(n=n))
            yield Pong(n=n)


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        HANDLED[0] += 1


def requests_mapper(mapper) -> None:
    mapper.bind(Ping, PingHandler)
    mapper.bind(PingWithEvents, PingWithEventsHandler)


def streams_mapper(mapper) -> None:
    mapper.bind(Count, CountHandler)


def events_mapper(mapper) -> None:
    mapper.bind(Happened, HappenedHandler)


# --- the saga -----------------------------------------------------------------------------


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str
    reserved: bool = False
    charged: bool = False
    shipped: bool = False


class ReserveInventory(cqrs.SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext):
        context.reserved = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="reserve"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ChargePayment(cqrs.SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext):
        context.charged = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="charge"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ShipOrder(cqrs.SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext):
        context.shipped = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="ship"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class OrderSaga(cqrs.Saga[OrderContext]):
    steps = [ReserveInventory, ChargePayment, ShipOrder]  # noqa: RUF012 - python-cqrs wants a list


def sagas_mapper(mapper) -> None:
    mapper.bind(OrderContext, OrderSaga)


# --- the rounds ---------------------------------------------------------------------------


class Workloads:
    def __init__(self) -> None:
        settings = {
            "domain_events_mapper": events_mapper,
            "max_concurrent_event_handlers": 4,
            "concurrent_event_handle_enable": True,
        }
        self.mediator = requests_bootstrap.bootstrap(
            di_container=di.Container(), commands_mapper=requests_mapper, **settings
        )
        self.streaming = requests_bootstrap.bootstrap_streaming(
            di_container=di.Container(), commands_mapper=streams_mapper, **settings
        )
        self.handler = PingHandler()

    async def direct(self, loops: int) -> float:
        handler, request = self.handler, Ping(n=1)
        started = time.perf_counter()
        for _ in range(loops):
            await handler.handle(request)
        return time.perf_counter() - started

    async def send(self, loops: int) -> float:
        mediator, request = self.mediator, Ping(n=1)
        started = time.perf_counter()
        for _ in range(loops):
            await mediator.send(request)
        return time.perf_counter() - started

    async def events(self, loops: int) -> float:
        mediator, request = self.mediator, PingWithEvents(n=1)
        handled = HANDLED[0]
        started = time.perf_counter()
        for _ in range(loops):
            await mediator.send(request)
        seconds = time.perf_counter() - started
        check_handled(handled, 2 * loops)
        return seconds

    async def stream(self, loops: int) -> float:
        request = Count(items=loops)
        handled = HANDLED[0]
        started = time.perf_counter()
        async for _ in self.streaming.stream(request):
            pass
        seconds = time.perf_counter() - started
        check_handled(handled, loops)
        return seconds

    async def saga(self, loops: int) -> float:
        # A fresh storage (so a mediator) each round, warmed up by one saga: the storage
        # keeps every saga, and what earlier rounds stored would slow the later ones.
        storage = MemorySagaStorage()
        sagas = saga_bootstrap.bootstrap(
            di_container=di.Container(), sagas_mapper=sagas_mapper, saga_storage=storage
        )
        run = sagas.execute if PYCQRS_5 else sagas.stream
        async for _ in run(OrderContext(order_id="warm-up"), saga_id=uuid.uuid4()):
            pass
        contexts = [OrderContext(order_id=f"o-{n}") for n in range(loops)]
        ids = [uuid.uuid4() for _ in range(loops)]
        gc.collect()
        started = time.perf_counter()
        for context, saga_id in zip(contexts, ids, strict=True):
            async for _ in run(context, saga_id=saga_id):
                pass
        seconds = time.perf_counter() - started
        if not all(c.reserved and c.charged and c.shipped for c in contexts):
            raise RuntimeError("a saga did not run all three steps")
        status, _, _ = await storage.load_saga_state(ids[-1])
        if status != SagaStatus.COMPLETED:
            raise RuntimeError(f"saga {ids[-1]} is {status}, not COMPLETED")
        return seconds


def check_handled(before: int, expected: int) -> None:
    handled = HANDLED[0] - before
    if handled != expected:
        raise RuntimeError(f"{handled} events handled, not {expected}")


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], DISTRIBUTION: VERSION}
    for name in ("pydantic", "di", "dataclass-wizard"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def answer(data: dict) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def main() -> int:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    workloads = Workloads()
    runs = {
        "direct": workloads.direct,
        "send": workloads.send,
        "events": workloads.events,
        "stream": workloads.stream,
        "saga": workloads.saga,
    }
    level = logging.getLevelName(logging.getLogger("cqrs").getEffectiveLevel())
    answer({"versions": versions(), "cqrs_logger": level, "pid": os.getpid()})
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                answer({})
                return 0
            try:
                loops = max(1, int(command["loops"]))
                gc.collect()  # untimed: the garbage of the previous round
                seconds = loop.run_until_complete(runs[command["workload"]](loops))
                answer({"us": seconds / loops * 1e6})
            except Exception as error:  # noqa: BLE001 - reported to the caller
                answer({"error": f"{error!r}\n{traceback.format_exc()[-3000:]}"})
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
