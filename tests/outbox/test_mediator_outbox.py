"""`bootstrap(..., outbox=...)`: a handler's notification events stored in its own transaction.

The handler and the outbox repository are built in one container scope, so they share
the request-scoped `AsyncSession`: a committed command leaves its row and its event in
the database (published later by the relay), a failed one leaves neither. Runs on
SQLite (memory and file), PostgreSQL and MariaDB.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import di
import pytest
import sqlalchemy as sa
from di import bind_by_type
from di.dependent import Dependent
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.outbox.engines import BACKENDS, engine_for, tables_on

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.outbox import Backoff, EventStatus, OutboxedEventMap, OutboxRelay, UnregisteredEventError
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table
from cqrs.requests import bootstrap


class Joined(cqrs.Response):
    user_id: int


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


class NotInTheMap(cqrs.NotificationEvent[Joined], frozen=True):
    pass


class Welcomed(cqrs.DomainEvent, frozen=True):
    user_id: int


class JoinUser(cqrs.Request[None]):
    user_id: int
    fail: bool = False
    unregistered: bool = False


class ImportUsers(cqrs.Request[int]):
    user_ids: list[int]
    fail_at: int | None = None


@dataclasses.dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: sa.Table
    users: sa.Table
    event_map: OutboxedEventMap

    async def user_ids(self) -> list[int]:
        async with self.sessions() as session:
            rows = await session.execute(sa.select(self.users.c.id).order_by(self.users.c.id))
            return list(rows.scalars())

    async def outbox_rows(self) -> list[tuple[str, str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = await session.execute(
                sa.select(
                    self.outbox.c.event_name, self.outbox.c.status, self.outbox.c.payload
                ).order_by(self.outbox.c.id)
            )
            return [(row[0], row[1], row[2]) for row in rows]


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    engine = engine_for(request.param, request, tmp_path)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    outbox = outbox_table(metadata, f"mediator_outbox_{suffix}")
    users = sa.Table(
        f"mediator_users_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    )

    async with tables_on(engine, metadata) as sessions:
        yield Database(
            engine,
            sessions,
            outbox,
            users,
            OutboxedEventMap(UserJoined),
        )


class RecordingBroker:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)


welcomed: list[int] = []


class JoinUserHandler(cqrs.RequestHandler[JoinUser, None]):
    def __init__(self, session: AsyncSession, users: sa.Table) -> None:
        self._session = session
        self._users = users
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: JoinUser) -> None:
        await self._session.execute(sa.insert(self._users).values(id=request.user_id))
        joined = Joined(user_id=request.user_id)
        if request.unregistered:
            self._events.append(NotInTheMap(event_name="not_in_the_map", payload=joined))
        self._events.append(UserJoined(event_name="user_joined", topic="users", payload=joined))
        self._events.append(Welcomed(user_id=request.user_id))
        if request.fail:
            msg = "the command failed after its write"
            raise RuntimeError(msg)


class ImportUsersHandler(cqrs.StreamingRequestHandler[ImportUsers, int]):
    def __init__(self, session: AsyncSession, users: sa.Table) -> None:
        self._session = session
        self._users = users
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: ImportUsers) -> AsyncIterator[int]:
        for user_id in request.user_ids:
            if user_id == request.fail_at:
                msg = f"import failed at {user_id}"
                raise RuntimeError(msg)
            await self._session.execute(sa.insert(self._users).values(id=user_id))
            self._events.append(
                UserJoined(event_name="user_joined", topic="users", payload=Joined(user_id=user_id))
            )
            yield user_id


class WelcomedHandler(cqrs.EventHandler[Welcomed]):
    async def handle(self, event: Welcomed) -> None:
        welcomed.append(event.user_id)


def container_for(db: Database, *, unit_of_work: bool = False) -> di.Container:
    """A request-scoped session (optionally inside `session.begin()`), and the outbox over it."""

    async def session() -> AsyncIterator[AsyncSession]:
        async with db.sessions() as opened:
            if unit_of_work:
                async with opened.begin():
                    yield opened
            else:
                yield opened

    def outbox(session: AsyncSession) -> SqlAlchemyOutboxedEventRepository:
        return SqlAlchemyOutboxedEventRepository(session, db.event_map, table=db.outbox)

    container = di.Container()
    container.bind(bind_by_type(Dependent(session, scope="request"), AsyncSession))
    container.bind(
        bind_by_type(Dependent(outbox, scope="request"), SqlAlchemyOutboxedEventRepository)
    )
    container.bind(bind_by_type(Dependent(lambda: db.users, scope="singleton"), sa.Table))
    return container


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(JoinUser, JoinUserHandler)
    mapper.bind(ImportUsers, ImportUsersHandler)


def domain_events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Welcomed, WelcomedHandler)


def mediator_for(db: Database, broker: RecordingBroker, **kwargs: Any) -> cqrs.RequestMediator:
    return bootstrap.bootstrap(
        di_container=container_for(db, **kwargs),
        commands_mapper=commands,
        domain_events_mapper=domain_events,
        message_broker=broker,
        outbox=SqlAlchemyOutboxedEventRepository,
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    welcomed.clear()


@pytest.mark.parametrize("unit_of_work", [False, True], ids=["plain-session", "session-begin"])
async def test_a_committed_command_stores_its_write_and_its_event_and_the_relay_publishes_it(
    db: Database, unit_of_work: bool
) -> None:
    broker = RecordingBroker()
    mediator = mediator_for(db, broker, unit_of_work=unit_of_work)

    await mediator.send(JoinUser(user_id=1))
    await mediator.send(JoinUser(user_id=2))

    assert await db.user_ids() == [1, 2]
    rows = await db.outbox_rows()
    assert [(name, status) for name, status, _ in rows] == [
        ("UserJoined", EventStatus.NEW.value),
        ("UserJoined", EventStatus.NEW.value),
    ]
    assert broker.messages == []  # stored, not published by the mediator
    assert welcomed == [1, 2]  # domain events still run in-process

    relay = OutboxRelay.for_sqlalchemy(
        db.sessions,
        db.event_map,
        broker,
        table=db.outbox,
        backoff=Backoff(initial=0.0, maximum=0.0, jitter=0.0),
    )
    assert await relay.run_once() == 2
    assert [message.payload["payload"]["user_id"] for message in broker.messages] == [1, 2]
    assert {status for _, status, _ in await db.outbox_rows()} == {EventStatus.PRODUCED.value}


@pytest.mark.parametrize("unit_of_work", [False, True], ids=["plain-session", "session-begin"])
async def test_a_failed_command_stores_neither_its_write_nor_its_event(
    db: Database, unit_of_work: bool
) -> None:
    broker = RecordingBroker()
    mediator = mediator_for(db, broker, unit_of_work=unit_of_work)

    with pytest.raises(RuntimeError, match="failed after its write"):
        await mediator.send(JoinUser(user_id=1, fail=True))

    assert await db.user_ids() == []
    assert await db.outbox_rows() == []
    assert broker.messages == []
    assert welcomed == []


async def test_an_unregistered_event_fails_the_command_and_rolls_its_write_back(
    db: Database,
) -> None:
    mediator = mediator_for(db, RecordingBroker())

    with pytest.raises(UnregisteredEventError, match="NotInTheMap"):
        await mediator.send(JoinUser(user_id=1, unregistered=True))

    assert await db.user_ids() == []
    assert await db.outbox_rows() == []
    assert welcomed == []


async def test_a_stream_commits_each_items_events_before_handing_the_item_on(
    db: Database,
) -> None:
    broker = RecordingBroker()
    mediator = bootstrap.bootstrap_streaming(
        di_container=container_for(db),
        commands_mapper=commands,
        message_broker=broker,
        outbox=SqlAlchemyOutboxedEventRepository,
    )

    # Another session sees each item's write and its event already committed.
    seen = [
        (user_id, await db.user_ids(), len(await db.outbox_rows()))
        async for user_id in mediator.stream(ImportUsers(user_ids=[1, 2, 3], fail_at=4))
    ]
    assert seen == [(1, [1], 1), (2, [1, 2], 2), (3, [1, 2, 3], 3)]

    stream = mediator.stream(ImportUsers(user_ids=[10, 11], fail_at=11))
    with pytest.raises(RuntimeError, match="import failed at 11"):
        async for _ in stream:
            pass
    # The item handed on before the failure was committed with its event; nothing after.
    assert await db.user_ids() == [1, 2, 3, 10]
    assert len(await db.outbox_rows()) == 4
    assert broker.messages == []


async def test_the_event_mediator_is_unaffected(db: Database) -> None:
    # Only request mediators take outbox=; the consumer side handles what it receives.
    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=domain_events)
    await mediator.send(Welcomed(user_id=7))
    assert welcomed == [7]
    assert await db.outbox_rows() == []


def test_an_outbox_the_container_cannot_build_fails_at_bootstrap() -> None:
    class Nothing(cqrs.RequestHandler[JoinUser, None]):
        async def handle(self, request: JoinUser) -> None:
            return None

    with pytest.raises(
        DependencyResolutionError,
        match=r"cannot build SqlAlchemyOutboxedEventRepository: .* bind the type",
    ):
        bootstrap.bootstrap(
            di_container=di.Container(),
            commands_mapper=lambda mapper: mapper.bind(JoinUser, Nothing),
            outbox=SqlAlchemyOutboxedEventRepository,
        )


def test_outbox_takes_a_class() -> None:
    repository: Any = object()
    with pytest.raises(InvalidConfigurationError, match="outbox= takes the class"):
        bootstrap.bootstrap(di_container=di.Container(), outbox=repository)


async def test_a_fallback_or_chain_is_refused_with_the_outbox() -> None:
    class Other(cqrs.RequestHandler[JoinUser, None]):
        async def handle(self, request: JoinUser) -> None:
            return None

    class First(cqrs.RequestHandler[JoinUser, None]):
        async def handle(self, request: JoinUser) -> None:
            raise RuntimeError

    container = di.Container()
    container.bind(
        bind_by_type(
            Dependent(lambda: SqlAlchemyOutboxedEventRepository, scope="request"),
            SqlAlchemyOutboxedEventRepository,
        )
    )
    mediator = bootstrap.bootstrap(
        di_container=container,
        commands_mapper=lambda mapper: mapper.bind(
            JoinUser, cqrs.RequestHandlerFallback(First, Other)
        ),
        outbox=SqlAlchemyOutboxedEventRepository,
    )
    with pytest.raises(InvalidConfigurationError, match="fallback or a chain"):
        await mediator.send(JoinUser(user_id=1))
