"""Shared saga test fixtures: an order context, three recording steps, and sagas of them.

Steps are built by the container, so what a test wants them to do (fail, pause) and
what they did (calls, `current_step()` runs, the responses compensations got) lives
in a `Journal` the container injects: `container(journal)` binds one per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import di
from di.dependent import Dependent

import cqrs
from cqrs.saga.models import SagaContext
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult, StepRun, current_step
from cqrs.saga.storage.enums import SagaStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.models import SagaLogEntry

GUARD = 5.0  # seconds; only a guard against a hang, never used to coordinate


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str
    reserved: bool = False
    charged: bool = False
    shipped: bool = False
    trail: list[str] = dataclasses.field(default_factory=list)


class Reserved(cqrs.Response):
    reservation_id: str


class Charged(cqrs.Response):
    payment_id: str
    amount: int


class InventoryReserved(cqrs.DomainEvent, frozen=True):
    order_id: str


@dataclasses.dataclass
class _Failure:
    error: Exception
    times: int | None  # None: every call


class Journal:
    """What one test's steps did, and what they are told to do.

    `calls` reads like "act Reserve", "compensate Charge". `fail("act", "Charge",
    error)` makes Charge's act raise `error` on every call (`times=n`: the next n
    calls only); `pause("Ship")` makes Ship's act wait until its gate is set.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.runs: list[StepRun] = []
        self.compensated_with: dict[str, object] = {}
        self._failures: dict[tuple[str, str], _Failure] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.entered: dict[str, asyncio.Event] = {}

    def fail(self, action: str, step: str, error: Exception, *, times: int | None = None) -> None:
        self._failures[action, step] = _Failure(error, times)

    def pause(self, step: str) -> tuple[asyncio.Event, asyncio.Event]:
        """(entered, gate): `entered` is set when the step's act starts waiting on `gate`."""
        self.entered[step] = asyncio.Event()
        self.gates[step] = asyncio.Event()
        return self.entered[step], self.gates[step]

    def reached(self, step: str) -> asyncio.Event:
        """An event set whenever the step's act is called (no pause)."""
        self.entered[step] = asyncio.Event()
        return self.entered[step]

    async def record(self, action: str, step: str) -> None:
        self.calls.append(f"{action} {step}")
        self.runs.append(current_step())
        if action == "act":
            entered = self.entered.get(step)
            if entered is not None:
                entered.set()
            gate = self.gates.get(step)
            if gate is not None:
                await gate.wait()
        failure = self._failures.get((action, step))
        if failure is None:
            return
        if failure.times is not None:
            if failure.times <= 0:
                return
            failure.times -= 1
        raise failure.error

    def acts(self) -> list[str]:
        return [call for call in self.calls if call.startswith("act ")]

    def compensations(self) -> list[str]:
        return [call for call in self.calls if call.startswith("compensate ")]


class Reserve(SagaStepHandler[OrderContext, Reserved]):
    """Reserves; raises `InventoryReserved`; its compensation takes the act's response."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return list(self._events)

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        await self._journal.record("act", "Reserve")
        context.reserved = True
        context.trail.append("reserved")
        self._events.append(InventoryReserved(order_id=context.order_id))
        return self._generate_step_result(Reserved(reservation_id=f"r-{context.order_id}"))

    async def compensate(self, context: OrderContext, response: Reserved | None = None) -> None:
        self._journal.compensated_with["Reserve"] = response
        await self._journal.record("compensate", "Reserve")
        context.reserved = False
        context.trail.append("unreserved")


class Charge(SagaStepHandler[OrderContext, Charged]):
    """Charges; an old-style compensation (the context only)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Charged]:
        await self._journal.record("act", "Charge")
        context.charged = True
        context.trail.append("charged")
        return self._generate_step_result(Charged(payment_id=f"p-{context.order_id}", amount=10))

    async def compensate(self, context: OrderContext) -> None:
        await self._journal.record("compensate", "Charge")
        context.charged = False
        context.trail.append("refunded")


class Ship(SagaStepHandler[OrderContext, None]):
    """Ships; its response is None."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        await self._journal.record("act", "Ship")
        context.shipped = True
        context.trail.append("shipped")
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        await self._journal.record("compensate", "Ship")
        context.shipped = False
        context.trail.append("recalled")


class OrderSaga(Saga[OrderContext]):
    steps = [Reserve, Charge, Ship]


STEP_NAMES = ("Reserve", "Charge", "Ship")


def di_container(journal: Journal) -> di.Container:
    """A `di.Container` that injects `journal` into the steps."""
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(lambda: journal, scope="request"), Journal))
    return container


def container(journal: Journal) -> cqrs.DIContainer:
    return cqrs.DIContainer(di_container(journal))


async def drain(transaction: Any) -> list[SagaStepResult[Any, Any]]:
    """Run a transaction to its end (inside `async with`), returning its results."""
    results: list[SagaStepResult[Any, Any]] = []
    async with transaction:
        results.extend([result async for result in transaction])
    return results


async def status_of(storage: MemorySagaStorage, saga_id: uuid.UUID) -> SagaStatus:
    status, _, _ = await storage.load_saga_state(saga_id)
    return status


def lines(history: Sequence[SagaLogEntry]) -> list[str]:
    """The log as "<step> <action> <status>" lines."""
    return [f"{entry.step_name} {entry.action} {entry.status.value}" for entry in history]


class _LogWatch(logging.Handler):
    def __init__(self, text: str, count: int) -> None:
        super().__init__()
        self.text = text
        self.count = count
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.count -= 1
            if self.count <= 0:
                self.event.set()


@contextlib.contextmanager
def watch_log(text: str, count: int = 1) -> Iterator[asyncio.Event]:
    """An event set once `count` "cqrs.saga" log records (INFO and up) contain `text`."""
    logger = logging.getLogger("cqrs.saga")
    watch = _LogWatch(text, count)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(watch)
    try:
        yield watch.event
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)
