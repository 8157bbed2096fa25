"""An order saga on SQLite: completed, compensated, and recovered after a crash.

No server needed (extra `sqlalchemy`). Three steps, each with an `act` and a
`compensate`: reserve the items, charge the card, ship. The saga's state is stored in
SQLite after every step (`SqlAlchemySagaStorage`; PostgreSQL or MariaDB in production,
same code).

1. **Order A-1 completes.** The payment gateway times out once; `ChargeCard` declares
   `retry = Retry(...)` for `ConnectionError`, so the second attempt charges it. Each
   attempt has its own idempotency key (`current_step()`), which the gateway uses to
   charge at most once per attempt.
2. **Order B-2 cannot ship.** The shipping step fails; the completed steps are
   compensated in reverse order (refund, then release), each compensation receiving
   what its own `act` returned.
3. **Order C-3 is interrupted** after its first step (the loop stops, as a crashed
   worker would). A `SagaRecoveryWorker` finds it and finishes it from the stored
   context, without repeating the completed step. Its charge is attempt 2: the
   interrupted run had recorded the charge's start (with the reservation's
   completion), so the recovery uses a new idempotency key.

Run it from the repository root: `python examples/saga_orders.py`. It prints:

    A-1: ReserveItems -> reservation R-A-1
    A-1: ChargeCard -> payment P-A-1 (attempt 2)
    A-1: e-mail sent: order shipped
    A-1: ShipOrder -> shipment S-A-1
    A-1: completed
    B-2: ReserveItems -> reservation R-B-2
    B-2: ChargeCard -> payment P-B-2 (attempt 1)
    B-2: refunded P-B-2
    B-2: released R-B-2
    B-2: failed (no courier for B-2); saga status failed
    C-3: ReserveItems -> reservation R-C-3
    C-3: interrupted; saga status running
    C-3: ChargeCard -> payment P-C-3 (attempt 2)
    C-3: e-mail sent: order shipped
    recovery worker: 1 completed, 0 compensated

A step's domain events (`OrderShipped`, handled by `SendShippedEmail`) are processed
before the step's result is yielded: the e-mail line comes before ShipOrder's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import di
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

import cqrs
from cqrs.saga import bootstrap
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import SagaRecoveryWorker
from cqrs.saga.retry import Retry
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult, current_step
from cqrs.saga.storage.sqlalchemy import SqlAlchemySagaStorage, saga_tables


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str
    reservation_id: str | None = None
    payment_id: str | None = None
    shipment_id: str | None = None


class Reserved(cqrs.Response):
    reservation_id: str


class Charged(cqrs.Response):
    payment_id: str


class Shipped(cqrs.Response):
    shipment_id: str


class OrderShipped(cqrs.DomainEvent, frozen=True):
    order_id: str


class Gateway:
    """A payment gateway that times out on its first call (once per process)."""

    def __init__(self) -> None:
        self.timed_out = False
        self.charged: dict[str, str] = {}  # idempotency key -> payment id

    async def charge(self, order_id: str, key: str) -> str:
        if not self.timed_out:
            self.timed_out = True
            raise ConnectionError("gateway timeout")
        return self.charged.setdefault(key, f"P-{order_id}")


GATEWAY = Gateway()


class ReserveItems(SagaStepHandler[OrderContext, Reserved]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        context.reservation_id = f"R-{context.order_id}"
        return self._generate_step_result(Reserved(reservation_id=context.reservation_id))

    async def compensate(self, context: OrderContext, response: Reserved | None = None) -> None:
        if response is not None:
            print(f"{context.order_id}: released {response.reservation_id}")
        context.reservation_id = None


class ChargeCard(SagaStepHandler[OrderContext, Charged]):
    retry = Retry(attempts=3, delay=0.01, on=(ConnectionError,))

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Charged]:
        step = current_step()
        context.payment_id = await GATEWAY.charge(context.order_id, step.idempotency_key)
        print(f"{context.order_id}: ChargeCard -> payment {context.payment_id}", end=" ")
        print(f"(attempt {step.attempt})")
        return self._generate_step_result(Charged(payment_id=context.payment_id))

    async def compensate(self, context: OrderContext, response: Charged | None = None) -> None:
        if response is not None:
            print(f"{context.order_id}: refunded {response.payment_id}")
        context.payment_id = None


class ShipOrder(SagaStepHandler[OrderContext, Shipped]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        if context.order_id.startswith("B-"):
            raise LookupError(f"no courier for {context.order_id}")
        context.shipment_id = f"S-{context.order_id}"
        self._events.append(OrderShipped(order_id=context.order_id))
        return self._generate_step_result(Shipped(shipment_id=context.shipment_id))

    async def compensate(self, context: OrderContext) -> None:
        context.shipment_id = None


class OrderSaga(Saga[OrderContext]):
    steps = [ReserveItems, ChargeCard, ShipOrder]


class SendShippedEmail(cqrs.EventHandler[OrderShipped]):
    async def handle(self, event: OrderShipped) -> None:
        print(f"{event.order_id}: e-mail sent: order shipped")


def describe(result: SagaStepResult[OrderContext, cqrs.IResponse | None], order_id: str) -> None:
    """Print a step's result (ChargeCard prints its own line, with its attempt)."""
    response = result.response
    if isinstance(response, Reserved):
        print(f"{order_id}: ReserveItems -> reservation {response.reservation_id}")
    elif isinstance(response, Shipped):
        print(f"{order_id}: ShipOrder -> shipment {response.shipment_id}")


async def main(database: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")
    metadata = sa.MetaData()
    tables = saga_tables(metadata)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    storage = SqlAlchemySagaStorage(sessions, tables=tables)
    container = di.Container()
    mediator = bootstrap.bootstrap(
        di_container=container,
        sagas_mapper=lambda sagas: sagas.bind(OrderContext, OrderSaga),
        domain_events_mapper=lambda events: events.bind(OrderShipped, SendShippedEmail),
        saga_storage=storage,
        compensation_retry_delay=0.01,
    )

    # 1. Completes, after one retried charge.
    async for result in mediator.stream(OrderContext(order_id="A-1"), saga_id=uuid.uuid4()):
        describe(result, "A-1")
    print("A-1: completed")

    # 2. Fails at shipping: compensated in reverse order.
    failing = uuid.uuid4()
    try:
        async for result in mediator.stream(OrderContext(order_id="B-2"), saga_id=failing):
            describe(result, "B-2")
    except LookupError as error:
        status, _, _ = await storage.load_saga_state(failing)
        print(f"B-2: failed ({error}); saga status {status}")

    # 3. Interrupted after its first step, then finished by a recovery worker.
    interrupted = uuid.uuid4()
    stream = mediator.stream(OrderContext(order_id="C-3"), saga_id=interrupted)
    async for result in stream:
        describe(result, "C-3")
        break
    await stream.aclose()
    status, _, _ = await storage.load_saga_state(interrupted)
    print(f"C-3: interrupted; saga status {status}")

    worker = SagaRecoveryWorker(
        storage,
        cqrs.DIContainer(container),
        [OrderSaga],
        emit_events=mediator.emit_events,
    )
    report = await worker.run_once()
    completed, compensated = len(report.completed), len(report.compensated)
    print(f"recovery worker: {completed} completed, {compensated} compensated")
    await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)  # the retry's warning is part of the story
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main(Path(folder) / "sagas.db"))
