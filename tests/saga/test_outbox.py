"""A saga step's notification events, through the outbox of `SqlAlchemySagaStorage`.

With `outbox=`, the checkpoint that records a completed step also stages the step's
notification events in the outbox table, in the same transaction: both are stored, or
neither. Domain events still go to their handlers; nothing goes to the broker. Runs on
SQLite (memory and file), PostgreSQL and MariaDB.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import di
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.outbox.engines import BACKENDS, engine_for, tables_on

import cqrs
from cqrs.message_brokers.protocol import Message
from cqrs.outbox import OutboxedEventMap
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table
from cqrs.saga import bootstrap
from cqrs.saga.errors import SagaConcurrencyError
from cqrs.saga.models import SagaContext
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.protocol import LogWrite
from cqrs.saga.storage.sqlalchemy import SqlAlchemySagaStorage, saga_tables

pytestmark = pytest.mark.asyncio


class Paid(cqrs.Response):
    order_id: str


class OrderPaid(cqrs.NotificationEvent[Paid], frozen=True):
    pass


class PaymentNoted(cqrs.DomainEvent, frozen=True):
    order_id: str


@dataclasses.dataclass
class PayContext(SagaContext):
    order_id: str


class Pay(SagaStepHandler[PayContext, Paid]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def act(self, context: PayContext) -> SagaStepResult[PayContext, Paid]:
        paid = Paid(order_id=context.order_id)
        self._events.append(OrderPaid(event_name="order_paid", topic="orders", payload=paid))
        self._events.append(PaymentNoted(order_id=context.order_id))
        return self._generate_step_result(paid)

    async def compensate(self, context: PayContext) -> None:
        return None


class PaySaga(Saga[PayContext]):
    steps = [Pay]


noted: list[str] = []


class NotePayment(cqrs.EventHandler[PaymentNoted]):
    async def handle(self, event: PaymentNoted) -> None:
        noted.append(event.order_id)


class RecordingBroker:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)


@dataclasses.dataclass
class Database:
    sessions: async_sessionmaker[AsyncSession]
    storage: SqlAlchemySagaStorage
    outbox: sa.Table


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    suffix = uuid.uuid4().hex[:8]
    metadata = sa.MetaData()
    tables = saga_tables(metadata, executions=f"so_sagas_{suffix}", logs=f"so_logs_{suffix}")
    outbox = outbox_table(metadata, f"so_outbox_{suffix}")
    event_map = OutboxedEventMap(OrderPaid)
    engine = engine_for(request.param, request, tmp_path)
    async with tables_on(engine, metadata) as sessions:
        storage = SqlAlchemySagaStorage(
            sessions,
            tables=tables,
            outbox=lambda session: SqlAlchemyOutboxedEventRepository(
                session, event_map, table=outbox, notify=False
            ),
        )
        yield Database(sessions, storage, outbox)


async def outbox_rows(db: Database) -> list[Any]:
    async with db.sessions() as session:
        return list(await session.execute(sa.select(db.outbox)))


async def test_a_steps_notification_event_is_stored_with_its_completion(db: Database) -> None:
    noted.clear()
    broker = RecordingBroker()
    mediator = bootstrap.bootstrap(
        di.Container(),
        message_broker=broker,
        sagas_mapper=lambda sagas: sagas.bind(PayContext, PaySaga),
        domain_events_mapper=lambda events: events.bind(PaymentNoted, NotePayment),
        saga_storage=db.storage,
    )
    saga_id = uuid.uuid4()

    results = [step async for step in mediator.stream(PayContext(order_id="o-1"), saga_id)]

    assert [step.step_id for step in results] == ["Pay"]
    rows = await outbox_rows(db)
    assert [(row.event_name, row.topic, row.payload["payload"]) for row in rows] == [
        ("OrderPaid", "orders", {"order_id": "o-1"})  # the map names rows by class
    ]
    assert broker.messages == []  # published later by the outbox relay
    assert noted == ["o-1"]  # domain events still handled in-process
    assert (await db.storage.load_saga(saga_id)).status is SagaStatus.COMPLETED


async def test_a_checkpoint_that_fails_stores_no_event(db: Database) -> None:
    saga_id = uuid.uuid4()
    await db.storage.create_saga(saga_id, "PaySaga", {"order_id": "o-2"})
    await db.storage.acquire_lease(saga_id, "someone-else", 60)
    event = OrderPaid(event_name="order_paid", topic="orders", payload=Paid(order_id="o-2"))

    with pytest.raises(SagaConcurrencyError):
        await db.storage.checkpoint(
            saga_id,
            owner="me",
            log=LogWrite("Pay", "act", SagaStepStatus.COMPLETED),
            events=[event],
        )

    assert await outbox_rows(db) == []
    assert await db.storage.get_step_history(saga_id) == []


async def test_storages_without_an_outbox_refuse_events() -> None:
    event = OrderPaid(event_name="order_paid", topic="orders", payload=Paid(order_id="o-3"))
    memory = MemorySagaStorage()
    saga_id = uuid.uuid4()
    await memory.create_saga(saga_id, "PaySaga", {"order_id": "o-3"})

    assert memory.stores_events is False
    with pytest.raises(ValueError, match="no outbox"):
        await memory.checkpoint(saga_id, events=[event])


async def test_without_an_outbox_notification_events_go_to_the_broker() -> None:
    broker = RecordingBroker()
    mediator = bootstrap.bootstrap(
        di.Container(),
        message_broker=broker,
        sagas_mapper=lambda sagas: sagas.bind(PayContext, PaySaga),
        saga_storage=MemorySagaStorage(),
    )

    async for _ in mediator.stream(PayContext(order_id="o-4")):
        pass

    assert [message.topic for message in broker.messages] == ["orders"]
