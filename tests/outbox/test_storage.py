"""The outbox's storage: the table, the repositories and the claim query, on every database.

SQLite (in memory and a file) always runs; PostgreSQL and MariaDB come from the
`postgresql_url` / `mariadb_url` fixtures (skipped when down, failed with
CQRS_REQUIRE_SERVICES=1). Every test creates its own tables (unique names) and drops
them afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from tests.outbox.engines import BACKENDS, LOCKING_BACKENDS, engine_for, tables_on

import cqrs
from cqrs.exceptions import InvalidConfigurationError
from cqrs.outbox import (
    EventStatus,
    MemoryOutbox,
    MemoryOutboxedEventRepository,
    OutboxedEventMap,
    OutboxedEventRepository,
    UnregisteredEventError,
)
from cqrs.outbox.sqlalchemy import (
    SqlAlchemyOutboxedEventRepository,
    outbox_table,
    supports_skip_locked,
)

# --- events ---------------------------------------------------------------------------


class Address(pydantic.BaseModel):
    street: str
    city: str


class Joined(cqrs.Response):
    user_id: str
    address: Address
    tags: list[str]
    joined_at: datetime.datetime


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


@dataclasses.dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


@dataclasses.dataclass(frozen=True)
class Placed:
    order_id: uuid.UUID
    placed_at: datetime.datetime
    lines: list[Line]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderPlaced(cqrs.DCNotificationEvent[Placed]):
    pass


class NeverRegistered(cqrs.NotificationEvent[dict[str, int]], frozen=True):
    pass


def user_joined(n: int = 0, *, topic: str = "users") -> UserJoined:
    return UserJoined(
        event_name="user_joined",
        topic=topic,
        payload=Joined(
            user_id=f"u{n}",
            address=Address(street=f"{n} Main St", city="Lyon"),
            tags=["a", "b"],
            joined_at=datetime.datetime(
                2024, 5, 1, 12, 30, 15, 123456, tzinfo=datetime.timezone.utc
            ),
        ),
    )


def order_placed(n: int = 0, *, topic: str = "orders") -> OrderPlaced:
    return OrderPlaced(
        event_name="order_placed",
        topic=topic,
        payload=Placed(
            order_id=uuid.uuid4(),
            placed_at=datetime.datetime(2024, 5, 2, 8, 0, tzinfo=datetime.timezone.utc),
            lines=[Line(sku=f"sku-{n}", quantity=n + 1), Line(sku="x", quantity=2)],
        ),
    )


def events_map() -> OutboxedEventMap:
    return OutboxedEventMap(UserJoined, OrderPlaced)


# --- databases ------------------------------------------------------------------------


@dataclasses.dataclass
class Database:
    backend: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: sa.Table
    orders: sa.Table

    def repository(
        self, session: AsyncSession, event_map: OutboxedEventMap | None = None, **kwargs: Any
    ) -> SqlAlchemyOutboxedEventRepository:
        return SqlAlchemyOutboxedEventRepository(
            session,
            event_map if event_map is not None else events_map(),
            table=self.outbox,
            **kwargs,
        )

    async def count(self, table: sa.Table) -> int:
        async with self.sessions() as session:
            return (
                await session.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()

    async def column(self, name: str) -> list[Any]:
        async with self.sessions() as session:
            result = await session.execute(
                sa.select(self.outbox.c[name]).order_by(self.outbox.c.id)
            )
            return list(result.scalars())

    async def add_committed(self, *events: cqrs.INotificationEvent[Any], **kwargs: Any) -> None:
        async with self.sessions() as session:
            repository = self.repository(session)
            for event in events:
                repository.add(event, **kwargs)
            await repository.commit()


async def _open(
    backend: str, request: pytest.FixtureRequest, tmp_path: Any
) -> AsyncIterator[Database]:
    engine = engine_for(backend, request, tmp_path)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    outbox = outbox_table(metadata, f"outbox_{suffix}")
    orders = sa.Table(
        f"orders_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("note", sa.String(50), nullable=False),
    )

    async with tables_on(engine, metadata) as sessions:
        yield Database(backend, engine, sessions, outbox, orders)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


@pytest.fixture(params=LOCKING_BACKENDS)
async def locking_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


# --- the table --------------------------------------------------------------------------


def test_the_table_has_the_documented_columns_and_indexes() -> None:
    table = outbox_table(sa.MetaData(), "my_outbox", schema="messaging")

    assert [column.name for column in table.columns] == [
        "id", "event_id", "event_name", "topic", "payload", "status", "attempts",
        "created_at", "next_attempt_at", "locked_until", "partition_key", "last_error",
    ]  # fmt: skip
    assert table.fullname == "messaging.my_outbox"
    assert {index.name: [c.name for c in index.columns] for index in table.indexes} == {
        "ix_my_outbox_claim": ["next_attempt_at", "id"],
        "ix_my_outbox_partition": ["partition_key", "next_attempt_at", "id"],
    }
    unique = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    assert [[column.name for column in c.columns] for c in unique] == [["event_id"]]
    assert table.c.locked_until.nullable
    assert table.c.partition_key.nullable


def test_the_table_is_on_the_metadata_passed_in() -> None:
    metadata = sa.MetaData()

    table = outbox_table(metadata)

    assert metadata.tables["outbox"] is table


async def test_the_repository_satisfies_the_protocol(db: Database) -> None:
    async with db.sessions() as session:
        repository: OutboxedEventRepository = db.repository(session)

        assert isinstance(repository, OutboxedEventRepository)


async def test_skip_locked_is_used_where_the_dialect_has_it(db: Database) -> None:
    async with db.engine.connect() as connection:
        expected = db.backend in LOCKING_BACKENDS

        assert supports_skip_locked(connection.dialect) is expected


# --- round trip ---------------------------------------------------------------------


async def test_add_commit_get_many_decodes_the_same_events(db: Database) -> None:
    events: list[cqrs.INotificationEvent[Any]] = [user_joined(1), order_placed(2)]
    await db.add_committed(*events)

    async with db.sessions() as session:
        got = await db.repository(session).get_many()

    assert [row.event for row in got] == events
    assert [type(row.event) for row in got] == [UserJoined, OrderPlaced]
    assert [row.topic for row in got] == ["users", "orders"]
    assert [(row.status, row.attempts) for row in got] == [(EventStatus.NEW, 0)] * 2
    assert got[0].id < got[1].id


async def test_the_row_holds_the_wire_body_and_names(db: Database) -> None:
    event = order_placed(3)
    await db.add_committed(event, partition_key="order-3")

    assert await db.column("payload") == [
        {
            "event_id": str(event.event_id),
            "event_timestamp": event.event_timestamp.isoformat().replace("+00:00", "Z"),
            "event_name": "order_placed",
            "topic": "orders",
            "payload": {
                "order_id": str(event.payload.order_id),
                "placed_at": "2024-05-02T08:00:00Z",
                "lines": [{"sku": "sku-3", "quantity": 4}, {"sku": "x", "quantity": 2}],
            },
        }
    ]
    assert await db.column("event_id") == [event.event_id]
    assert await db.column("event_name") == ["OrderPlaced"]
    assert await db.column("status") == ["new"]
    assert await db.column("partition_key") == ["order-3"]


async def test_the_same_event_is_stored_once(db: Database) -> None:
    event = user_joined()
    await db.add_committed(event)

    with pytest.raises(sa.exc.IntegrityError):
        await db.add_committed(event)

    assert await db.count(db.outbox) == 1


# --- in the handler's transaction -----------------------------------------------------


async def test_a_rolled_back_transaction_leaves_neither_row(db: Database) -> None:
    async with db.sessions() as session:
        await session.execute(db.orders.insert().values(id=1, note="written by the handler"))
        repository = db.repository(session)
        repository.add(user_joined())
        await repository.rollback()

    assert await db.count(db.orders) == 0
    assert await db.count(db.outbox) == 0


async def test_an_exception_in_the_unit_of_work_leaves_neither_row(db: Database) -> None:
    async def unit_of_work() -> None:
        async with db.sessions() as session, session.begin():
            await session.execute(db.orders.insert().values(id=1, note="x"))
            db.repository(session).add(user_joined())
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await unit_of_work()

    assert await db.count(db.orders) == 0
    assert await db.count(db.outbox) == 0


async def test_the_session_committed_directly_stores_both_rows(db: Database) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(db.orders.insert().values(id=1, note="x"))
        db.repository(session).add(user_joined())
        # the unit of work commits the session, not the repository

    assert await db.count(db.orders) == 1
    assert await db.count(db.outbox) == 1


# --- statuses and attempts ------------------------------------------------------------


async def _claim(db: Database, **kwargs: Any) -> list[Any]:
    async with db.sessions() as session:
        return await db.repository(session, **kwargs).get_many()


async def _update(db: Database, row_id: int, status: EventStatus, **kwargs: Any) -> None:
    max_attempts = kwargs.pop("max_attempts", 3)
    async with db.sessions() as session:
        repository = db.repository(session, max_attempts=max_attempts)
        await repository.update_status(row_id, status, **kwargs)
        await repository.commit()


async def test_produced_is_final(db: Database) -> None:
    await db.add_committed(user_joined())
    [row] = await _claim(db)

    await _update(db, row.id, EventStatus.PRODUCED)

    assert await _claim(db) == []
    assert await db.column("status") == ["produced"]


async def test_not_produced_counts_attempts_until_failed(db: Database) -> None:
    await db.add_committed(user_joined())
    [row] = await _claim(db)
    seen: list[tuple[EventStatus, int]] = []

    for _ in range(2):
        await _update(db, row.id, EventStatus.NOT_PRODUCED, error="broker down", max_attempts=3)
        [again] = await _claim(db)
        seen.append((again.status, again.attempts))
    await _update(db, row.id, EventStatus.NOT_PRODUCED, error="still down", max_attempts=3)

    assert seen == [(EventStatus.NOT_PRODUCED, 1), (EventStatus.NOT_PRODUCED, 2)]
    assert await _claim(db) == []
    assert await db.column("status") == ["failed"]
    assert await db.column("attempts") == [3]
    assert await db.column("last_error") == ["still down"]


async def test_a_failed_row_is_kept_and_can_be_redriven(db: Database) -> None:
    await db.add_committed(user_joined())
    [row] = await _claim(db)
    await _update(db, row.id, EventStatus.FAILED, error="poison")
    assert await _claim(db) == []

    await _update(db, row.id, EventStatus.NEW)

    [again] = await _claim(db)
    assert (again.id, again.status, again.attempts) == (row.id, EventStatus.NEW, 0)
    assert await db.column("last_error") == [None]


async def test_retry_at_delays_the_next_claim(db: Database) -> None:
    await db.add_committed(user_joined())
    [row] = await _claim(db)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)

    await _update(db, row.id, EventStatus.NOT_PRODUCED, retry_at=later)

    assert await _claim(db) == []


async def test_an_undecodable_row_counts_a_failed_attempt(db: Database) -> None:
    await db.add_committed(user_joined(1), order_placed(2))
    only_orders = OutboxedEventMap(OrderPlaced)

    async with db.sessions() as session:
        repository = db.repository(session, only_orders, max_attempts=1)
        got = await repository.get_many()
        await repository.commit()

    assert [type(row.event) for row in got] == [OrderPlaced]
    assert await db.column("status") == ["failed", "new"]
    [error, _] = await db.column("last_error")
    assert "UserJoined" in error


# --- what get_many returns ------------------------------------------------------------


async def test_get_many_respects_batch_size_and_order(db: Database) -> None:
    await db.add_committed(*(user_joined(n) for n in range(7)))

    async with db.sessions() as session:
        got = await db.repository(session).get_many(batch_size=3)

    assert [row.event.payload.user_id for row in got if isinstance(row.event, UserJoined)] == [
        "u0", "u1", "u2",
    ]  # fmt: skip


async def test_get_many_filters_by_topic(db: Database) -> None:
    await db.add_committed(
        user_joined(1, topic="a"), user_joined(2, topic="b"), order_placed(3, topic="a")
    )

    async with db.sessions() as session:
        got = await db.repository(session).get_many(topic="a")

    assert [row.topic for row in got] == ["a", "a"]
    assert [type(row.event) for row in got] == [UserJoined, OrderPlaced]


async def test_get_many_returns_only_rows_that_are_due(db: Database) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    await db.add_committed(user_joined(1), not_before=now + datetime.timedelta(hours=1))
    await db.add_committed(user_joined(2), not_before=now - datetime.timedelta(seconds=1))
    await db.add_committed(user_joined(3))

    got = await _claim(db)

    assert [row.event.payload.user_id for row in got] == ["u2", "u3"]


async def test_a_lease_keeps_rows_claimed_after_the_claim_commits(db: Database) -> None:
    await db.add_committed(user_joined(1), user_joined(2))
    async with db.sessions() as session:
        repository = db.repository(session)
        leased = await repository.get_many(batch_size=1, lease=datetime.timedelta(minutes=5))
        await repository.commit()

    others = await _claim(db)
    await _update(db, leased[0].id, EventStatus.NOT_PRODUCED)  # clears the lease

    assert [row.event.payload.user_id for row in others] == ["u2"]
    assert [row.id for row in await _claim(db)] == [leased[0].id, others[0].id]


def test_naive_times_are_refused() -> None:
    repository = SqlAlchemyOutboxedEventRepository(AsyncSession(), events_map())

    with pytest.raises(InvalidConfigurationError, match="timezone-aware"):
        repository.add(user_joined(), not_before=datetime.datetime(2024, 1, 1))  # noqa: DTZ001


# --- concurrent claims (SKIP LOCKED) ------------------------------------------------


async def test_two_open_transactions_never_receive_the_same_row(locking_db: Database) -> None:
    db = locking_db
    await db.add_committed(*(user_joined(n) for n in range(30)))

    async def claim_in_open_transactions() -> tuple[list[Any], list[Any], list[Any]]:
        async with db.sessions() as first, db.sessions() as second:
            claimed_first = await db.repository(first).get_many(batch_size=20)
            claimed_second = await db.repository(second).get_many(batch_size=20)
            third_while_both_open = await _claim(db)
            await first.rollback()
            await second.rollback()
        return claimed_first, claimed_second, third_while_both_open

    # Bounded: were the rows locked without SKIP LOCKED, the second claim would wait.
    claimed_first, claimed_second, third_while_both_open = await asyncio.wait_for(
        claim_in_open_transactions(), 30
    )

    ids_first = {row.id for row in claimed_first}
    ids_second = {row.id for row in claimed_second}
    assert len(ids_first & ids_second) == 0
    assert (len(ids_first), len(ids_second)) == (20, 10)
    assert third_while_both_open == []


async def test_concurrent_relays_claim_every_row_once(locking_db: Database) -> None:
    db = locking_db
    total = 200
    await db.add_committed(*(user_joined(n) for n in range(total)))
    claimed: list[int] = []

    async def relay() -> None:
        while True:
            async with db.sessions() as session:
                repository = db.repository(session)
                try:
                    batch = await repository.get_many(batch_size=7)
                    if not batch:
                        return
                    await asyncio.sleep(0.01)  # "publishing" while holding the rows
                    for row in batch:
                        await repository.update_status(row.id, EventStatus.PRODUCED)
                    await repository.commit()
                except DBAPIError as error:
                    # A deadlock victim (MySQL 1213, PostgreSQL 40P01) is rolled back
                    # whole; a relay retries it, as OutboxRelay.run does.
                    if "eadlock" not in str(error):
                        raise
                    await repository.rollback()
                    continue
                claimed.extend(row.id for row in batch)  # only what was committed

    await asyncio.wait_for(asyncio.gather(*(relay() for _ in range(4))), 60)

    duplicated = len(claimed) - len(set(claimed))
    lost = total - len(set(claimed))
    assert (duplicated, lost) == (0, 0)
    assert set(await db.column("status")) == {"produced"}


# --- registration ---------------------------------------------------------------------


async def test_an_unregistered_event_is_a_clear_error(db: Database) -> None:
    async with db.sessions() as session:
        repository = db.repository(session)

        with pytest.raises(UnregisteredEventError) as raised:
            repository.add(NeverRegistered(event_name="x", payload={}))

    message = str(raised.value)
    assert "NeverRegistered is not registered" in message
    assert "event_map.register(NeverRegistered)" in message
    assert "registered: OrderPlaced, UserJoined" in message
    assert isinstance(raised.value, TypeError)  # what python-cqrs raises
    assert isinstance(raised.value, cqrs.CQRSError)


async def test_the_python_cqrs_string_registration_works(db: Database) -> None:
    event_map = OutboxedEventMap()
    event_map.register("user_joined", UserJoined)
    event = user_joined(5)

    async with db.sessions() as session:
        repository = db.repository(session, event_map)
        repository.add(event)
        await repository.commit()
    async with db.sessions() as session:
        got = await db.repository(session, event_map).get_many()

    assert [row.event for row in got] == [event]
    assert await db.column("event_name") == ["user_joined"]
    assert event_map.get("user_joined") is UserJoined


def test_the_map_refuses_conflicts_and_non_events() -> None:
    event_map = OutboxedEventMap(UserJoined)
    event_map.register(UserJoined)  # again, same name: fine

    with pytest.raises(InvalidConfigurationError, match="registered under that name"):
        event_map.register("UserJoined", OrderPlaced)
    with pytest.raises(InvalidConfigurationError, match="already registered as 'UserJoined'"):
        event_map.register("other", UserJoined)
    with pytest.raises(TypeError, match="notification event class"):
        event_map.register(Joined)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType] - the run-time check
    assert list(event_map) == [UserJoined]
    assert event_map.get("missing") is None


# --- the in-memory repository ---------------------------------------------------------


async def test_memory_staged_rows_are_visible_only_after_commit() -> None:
    outbox = MemoryOutbox()
    writer = MemoryOutboxedEventRepository(events_map(), outbox=outbox)
    reader = MemoryOutboxedEventRepository(events_map(), outbox=outbox)
    writer.add(user_joined(1))

    before = await reader.get_many()
    await writer.commit()
    after = await reader.get_many()

    assert before == []
    assert [row.event for row in after] == [user_joined(1)] or [
        row.event.payload for row in after
    ] == [user_joined(1).payload]


async def test_memory_rollback_discards_rows_and_updates() -> None:
    outbox = MemoryOutbox()
    repository = MemoryOutboxedEventRepository(events_map(), outbox=outbox)
    repository.add(user_joined(1))
    await repository.rollback()
    assert len(outbox) == 0

    repository.add(user_joined(2))
    await repository.commit()
    [row] = await repository.get_many()
    await repository.update_status(row.id, EventStatus.PRODUCED)
    await repository.rollback()

    assert outbox.status_of(row.id) is EventStatus.NEW


async def test_memory_open_repositories_skip_each_others_rows() -> None:
    outbox = MemoryOutbox()
    first = MemoryOutboxedEventRepository(events_map(), outbox=outbox)
    first_events = [user_joined(n) for n in range(5)]
    for event in first_events:
        first.add(event)
    await first.commit()
    second = MemoryOutboxedEventRepository(events_map(), outbox=outbox)

    a = await first.get_many(batch_size=3)
    b = await second.get_many(batch_size=3)
    await first.rollback()
    c = await second.get_many(batch_size=5)

    assert {row.id for row in a} & {row.id for row in b} == set()
    # like SQL: a transaction's own locked rows are not skipped
    assert (len(a), len(b), len(c)) == (3, 2, 5)


async def test_memory_attempts_and_failed() -> None:
    repository = MemoryOutboxedEventRepository(events_map(), max_attempts=2)
    repository.add(order_placed())
    await repository.commit()
    [row] = await repository.get_many()

    await repository.update_status(row.id, EventStatus.NOT_PRODUCED)
    await repository.commit()
    [again] = await repository.get_many()
    await repository.update_status(row.id, EventStatus.NOT_PRODUCED)
    await repository.commit()

    assert (again.status, again.attempts) == (EventStatus.NOT_PRODUCED, 1)
    assert await repository.get_many() == []
    assert repository.outbox.status_of(row.id) is EventStatus.FAILED


async def test_memory_unregistered_event_is_a_clear_error() -> None:
    repository = MemoryOutboxedEventRepository(OutboxedEventMap())

    with pytest.raises(UnregisteredEventError, match=r"register\(NeverRegistered\)"):
        repository.add(NeverRegistered(event_name="x", payload={}))
