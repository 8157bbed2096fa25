"""The inbox: each handler processes a message once, recorded in its own transaction.

Repositories on SQLite (memory and file), PostgreSQL and MariaDB, and in memory;
`EventMediator(inbox=...)` end to end; a FastStream consumer over real RabbitMQ
receiving the same event twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import di
import pytest
import sqlalchemy as sa
from di import bind_by_type
from di.dependent import Dependent
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.outbox.engines import BACKENDS, LOCKING_BACKENDS, engine_for, tables_on

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import InvalidConfigurationError
from cqrs.inbox import InboxRepository, MemoryInbox, MemoryInboxRepository
from cqrs.inbox.sqlalchemy import SqlAlchemyInboxRepository, inbox_table

TIMEOUT = 60.0


class Paid(cqrs.Response):
    order_id: int


class OrderPaid(cqrs.NotificationEvent[Paid], frozen=True):
    pass


class Audited(cqrs.DomainEvent, frozen=True):
    order_id: int


def order_paid(order_id: int) -> OrderPaid:
    return OrderPaid(event_name="order_paid", topic="orders", payload=Paid(order_id=order_id))


@dataclasses.dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    inbox: sa.Table
    ledger: sa.Table

    def repository(self, session: AsyncSession) -> SqlAlchemyInboxRepository:
        return SqlAlchemyInboxRepository(session, table=self.inbox)

    async def ledger_rows(self) -> list[tuple[int, str]]:
        async with self.sessions() as session:
            rows = await session.execute(
                sa.select(self.ledger.c.order_id, self.ledger.c.entry).order_by(
                    self.ledger.c.order_id, self.ledger.c.entry
                )
            )
            return [(row[0], row[1]) for row in rows]

    async def records(self) -> int:
        async with self.sessions() as session:
            return int(
                await session.scalar(sa.select(sa.func.count()).select_from(self.inbox)) or 0
            )


async def _open(
    backend: str, request: pytest.FixtureRequest, tmp_path: Any
) -> AsyncIterator[Database]:
    engine = engine_for(backend, request, tmp_path)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    inbox = inbox_table(metadata, f"inbox_{suffix}")
    ledger = sa.Table(
        f"inbox_ledger_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("entry", sa.String(32), nullable=False),
    )

    async with tables_on(engine, metadata) as sessions:
        yield Database(engine, sessions, inbox, ledger)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


@pytest.fixture(params=LOCKING_BACKENDS)
async def locking_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


# --- the repositories -----------------------------------------------------------------


async def test_a_record_is_new_once_committed_and_a_duplicate_after(db: Database) -> None:
    async with db.sessions() as session:
        repository = db.repository(session)
        assert await repository.record("m-1", "Handler") is True
        assert await repository.record("m-2", "Handler") is True
        await repository.commit()
    async with db.sessions() as session:
        repository = db.repository(session)
        assert await repository.record("m-1", "Handler") is False
        assert await repository.record("m-1", "OtherHandler") is True  # per consumer
        await repository.commit()
    assert await db.records() == 3


async def test_a_rolled_back_record_is_not_kept(db: Database) -> None:
    async with db.sessions() as session:
        repository = db.repository(session)
        assert await repository.record("m-1", "Handler") is True
        await repository.rollback()
    async with db.sessions() as session:
        assert await db.repository(session).record("m-1", "Handler") is True


async def test_a_duplicate_does_not_fail_the_transaction(db: Database) -> None:
    async with db.sessions() as session:
        await db.repository(session).record("m-1", "Handler")
        await session.commit()
    async with db.sessions() as session:
        repository = db.repository(session)
        assert await repository.record("m-1", "Handler") is False
        # The transaction is still usable: PostgreSQL would abort it on a failed INSERT.
        await session.execute(sa.insert(db.ledger).values(order_id=1, entry="after"))
        await repository.commit()
    assert await db.ledger_rows() == [(1, "after")]


async def test_a_concurrent_duplicate_waits_for_the_first_transaction(
    locking_db: Database,
) -> None:
    db = locking_db
    with anyio.fail_after(TIMEOUT):
        for first_commits in (True, False):
            message_id = f"m-{first_commits}"
            async with db.sessions() as first, db.sessions() as second:
                assert await db.repository(first).record(message_id, "Handler") is True
                waiting = asyncio.create_task(db.repository(second).record(message_id, "Handler"))
                await asyncio.sleep(0.3)  # the second insert is blocked on the first's key
                assert not waiting.done()
                if first_commits:
                    await first.commit()
                else:
                    await first.rollback()
                # Committed: a duplicate. Rolled back: the second takes the record.
                assert await waiting is (not first_commits)
                await second.commit()


@pytest.mark.parametrize(
    ("message_id", "consumer"), [("", "Handler"), ("m", ""), ("m" * 256, "Handler")]
)
async def test_empty_or_overlong_keys_are_refused(message_id: str, consumer: str) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await MemoryInboxRepository().record(message_id, consumer)


def test_both_repositories_are_inbox_repositories() -> None:
    assert isinstance(MemoryInboxRepository(), InboxRepository)
    assert isinstance(SqlAlchemyInboxRepository(AsyncSession()), InboxRepository)


# --- the event mediator ---------------------------------------------------------------


class Failures:
    """How many more times each handler should fail."""

    def __init__(self) -> None:
        self.left: dict[str, int] = {}
        self.runs: list[str] = []


failures = Failures()


class LedgerHandler(cqrs.EventHandler[OrderPaid]):
    entry = "ledger"

    def __init__(self, session: AsyncSession, ledger: sa.Table) -> None:
        self._session = session
        self._ledger = ledger

    async def handle(self, event: OrderPaid) -> None:
        failures.runs.append(self.entry)
        await self._session.execute(
            sa.insert(self._ledger).values(order_id=event.payload.order_id, entry=self.entry)
        )
        if failures.left.get(self.entry, 0) > 0:
            failures.left[self.entry] -= 1
            msg = f"{self.entry} failed after its write"
            raise RuntimeError(msg)


class ReceiptHandler(LedgerHandler):
    entry = "receipt"


class AuditHandler(cqrs.EventHandler[Audited]):
    async def handle(self, event: Audited) -> None:
        failures.runs.append(f"audit {event.order_id}")


@pytest.fixture(autouse=True)
def _reset() -> None:
    failures.left.clear()
    failures.runs.clear()


def container_for(db: Database) -> di.Container:
    async def session() -> AsyncIterator[AsyncSession]:
        async with db.sessions() as opened:
            yield opened

    def inbox(session: AsyncSession) -> SqlAlchemyInboxRepository:
        return db.repository(session)

    container = di.Container()
    container.bind(bind_by_type(Dependent(session, scope="request"), AsyncSession))
    container.bind(bind_by_type(Dependent(inbox, scope="request"), SqlAlchemyInboxRepository))
    container.bind(bind_by_type(Dependent(lambda: db.ledger, scope="singleton"), sa.Table))
    return container


def paid_events(mapper: cqrs.EventMap) -> None:
    mapper.bind(OrderPaid, LedgerHandler)
    mapper.bind(OrderPaid, ReceiptHandler)
    mapper.bind(Audited, AuditHandler)


def mediator_for(db: Database) -> cqrs.EventMediator:
    return events_bootstrap.bootstrap(
        di_container=container_for(db), events_mapper=paid_events, inbox=SqlAlchemyInboxRepository
    )


async def test_a_redelivered_event_is_processed_once_per_handler(db: Database) -> None:
    mediator = mediator_for(db)
    event = order_paid(1)

    await mediator.send(event)
    redelivered = OrderPaid.from_dict(**event.to_dict())  # what a broker hands back
    await mediator.send(redelivered)
    await mediator.send(order_paid(2))  # another message: processed

    assert await db.ledger_rows() == [(1, "ledger"), (1, "receipt"), (2, "ledger"), (2, "receipt")]
    assert failures.runs == ["ledger", "receipt", "ledger", "receipt"]
    assert await db.records() == 4


async def test_a_failed_handler_keeps_no_record_and_runs_again_alone(db: Database) -> None:
    mediator = mediator_for(db)
    event = order_paid(1)
    failures.left["receipt"] = 1

    with pytest.raises(RuntimeError, match="receipt failed"):
        await mediator.send(event)
    # The ledger handler committed; the receipt handler's write and record rolled back.
    assert await db.ledger_rows() == [(1, "ledger")]

    await mediator.send(event)  # the broker redelivers: only the receipt handler runs
    assert await db.ledger_rows() == [(1, "ledger"), (1, "receipt")]
    assert failures.runs == ["ledger", "receipt", "receipt"]


async def test_events_without_an_id_are_not_deduplicated() -> None:
    inbox = MemoryInbox()
    container = di.Container()
    container.bind(
        bind_by_type(
            Dependent(lambda: MemoryInboxRepository(inbox), scope="request"), MemoryInboxRepository
        )
    )
    mediator = events_bootstrap.bootstrap(
        di_container=container,
        events_mapper=lambda mapper: mapper.bind(Audited, AuditHandler),
        inbox=MemoryInboxRepository,
    )

    await mediator.send(Audited(order_id=1))
    await mediator.send(Audited(order_id=1))

    assert failures.runs == ["audit 1", "audit 1"]
    assert len(inbox) == 0


async def test_the_memory_inbox_deduplicates_too() -> None:
    inbox = MemoryInbox()
    runs: list[int] = []

    class Counting(cqrs.EventHandler[OrderPaid]):
        async def handle(self, event: OrderPaid) -> None:
            runs.append(event.payload.order_id)

    container = di.Container()
    container.bind(
        bind_by_type(
            Dependent(lambda: MemoryInboxRepository(inbox), scope="request"), MemoryInboxRepository
        )
    )
    mediator = events_bootstrap.bootstrap(
        di_container=container,
        events_mapper=lambda mapper: mapper.bind(OrderPaid, Counting),
        inbox=MemoryInboxRepository,
    )
    event = order_paid(5)
    for _ in range(3):
        await mediator.send(event)
    assert runs == [5]
    assert len(inbox) == 1


def test_a_fallback_is_refused_with_the_inbox() -> None:
    container = di.Container()
    container.bind(
        bind_by_type(Dependent(MemoryInboxRepository, scope="request"), MemoryInboxRepository)
    )
    with pytest.raises(InvalidConfigurationError, match="a fallback"):
        events_bootstrap.bootstrap(
            di_container=container,
            events_mapper=lambda mapper: mapper.bind(
                OrderPaid, cqrs.EventHandlerFallback(LedgerHandler, ReceiptHandler)
            ),
            inbox=MemoryInboxRepository,
        )


def test_inbox_takes_a_class() -> None:
    repository: Any = MemoryInboxRepository()
    with pytest.raises(InvalidConfigurationError, match="inbox= takes the class"):
        events_bootstrap.bootstrap(di_container=di.Container(), inbox=repository)


# --- a FastStream consumer over real RabbitMQ, with the inbox on PostgreSQL ----------------


@pytest.fixture
async def postgresql_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open("postgresql", request, tmp_path):
        yield database


async def rows_reach(db: Database, count: int) -> None:
    # Polled: the rows are written by the consumer's own sessions, in its task.
    for _ in range(int(TIMEOUT / 0.05)):
        if len(await db.ledger_rows()) >= count:
            return
        await asyncio.sleep(0.05)
    msg = f"the ledger did not reach {count} rows"
    raise AssertionError(msg)


async def test_a_consumer_with_the_inbox_processes_a_redelivered_message_once(
    postgresql_db: Database, rabbitmq_url: str, unique: str
) -> None:
    from faststream import AckPolicy
    from faststream.rabbit import RabbitBroker, RabbitQueue

    from cqrs.integrations.faststream import DeadLetterTopic, Retry, subscribe_events
    from cqrs.message_brokers.faststream import FastStreamMessageBroker
    from cqrs.message_brokers.protocol import Message

    db = postgresql_db
    broker = RabbitBroker(rabbitmq_url)
    queue = RabbitQueue(f"{unique}.paid", durable=False, auto_delete=True)
    publisher = FastStreamMessageBroker(broker)
    subscribe_events(
        broker.subscriber(queue, ack_policy=AckPolicy.MANUAL),
        mediator_for(db),
        OrderPaid,
        dead_letter=DeadLetterTopic(publisher, f"{unique}.dead"),
        retry=Retry(attempts=3, wait_initial=0, wait_jitter=0),
    )
    first = order_paid(1)
    with anyio.fail_after(TIMEOUT):
        async with broker:
            await broker.start()
            # The same message three times (a redelivery, or a relay publishing twice),
            # then another one; one consumer handles them in order.
            for event in (first, first, first, order_paid(2)):
                await publisher.send_message(
                    Message(
                        message_name="OrderPaid",
                        message_id=event.event_id,
                        topic=queue.name,
                        payload=event.to_dict(),
                    )
                )
            await rows_reach(db, 4)
            await asyncio.sleep(0.2)  # a late duplicate would show up here

    assert await db.ledger_rows() == [(1, "ledger"), (1, "receipt"), (2, "ledger"), (2, "receipt")]
    assert failures.runs.count("ledger") == 2


# --- the embedded example -------------------------------------------------------------------


def test_the_sqlite_example_prints_what_its_docstring_promises() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    example = root / "examples" / "outbox_sqlite.py"
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    promised = example.read_text().split("It prints:\n\n", 1)[1].split("\n\n", 1)[0]
    assert done.stdout.splitlines() == [line.strip() for line in promised.splitlines()]
