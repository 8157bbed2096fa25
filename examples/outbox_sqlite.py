"""The transactional outbox and the inbox, end to end, on SQLite and an in-memory broker.

No server needed (extras `sqlalchemy` and `faststream`): one process plays the three
parts of a service that must neither lose nor double an event.

1. **A command** (`RegisterUser`) writes a user and raises `UserRegistered`. With
   `bootstrap(..., outbox=SqlAlchemyOutboxedEventRepository)` the event is stored in
   the outbox table in the command's own transaction: a command that fails (a
   duplicate e-mail here) stores neither its user nor its event.
2. **The relay** (`OutboxRelay`) publishes the committed rows through FastStream's
   in-memory RabbitMQ broker (`TestRabbitBroker`; a real `RabbitBroker` in production).
3. **A consumer** (`subscribe_events` on an `EventMediator` with
   `inbox=SqlAlchemyInboxRepository`) sends the welcome e-mail. The relay publishes at
   least once; to show why the inbox matters, the example makes it publish the same
   row twice. The inbox records the event's id with the handler's write, so the second
   delivery is acknowledged without a second e-mail.

Run it from the repository root: `python examples/outbox_sqlite.py`. It prints:

    registered ada@example.com
    refused ada@example.com: already registered
    outbox: 1 event to publish
    welcome e-mail to ada@example.com
    relay published 1 event
    relay published 1 event (the same one again: at least once)
    inbox: 1 record, so the second delivery was skipped
    welcome e-mails sent: 1

(The in-memory broker runs the consumer inside the publish: the e-mail line comes
before the relay's.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import di
import sqlalchemy as sa
from di import bind_by_type
from di.dependent import Dependent
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, TestRabbitBroker
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.inbox.sqlalchemy import SqlAlchemyInboxRepository, inbox_table
from cqrs.integrations.faststream import DeadLetterTopic, subscribe_events
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.outbox import EventStatus, OutboxedEventMap, OutboxRelay
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table
from cqrs.requests import bootstrap

# --- the database: the service's tables, the outbox and the inbox on one MetaData -----------

metadata = sa.MetaData()  # what Alembic's autogenerate would see
users = sa.Table(
    "users",
    metadata,
    sa.Column("email", sa.String(255), primary_key=True),
)
welcome_mails = sa.Table(
    "welcome_mails",
    metadata,
    sa.Column("email", sa.String(255), nullable=False),
)
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# One in-memory database shared by every session (a file URL works the same way).
engine = create_async_engine(
    "sqlite+aiosqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
)
sessions = async_sessionmaker(engine, expire_on_commit=False)


# --- messages -------------------------------------------------------------------------------


class Registration(cqrs.Response):
    email: str


class UserRegistered(cqrs.NotificationEvent[Registration], frozen=True):
    pass


class RegisterUser(cqrs.Request[None]):
    email: str


events = OutboxedEventMap(UserRegistered)  # what the outbox may store, keyed by class


# --- the command side -----------------------------------------------------------------------


class RegisterUserHandler(cqrs.RequestHandler[RegisterUser, None]):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: RegisterUser) -> None:
        # The mediator commits after handle() returns: the user and the outbox row together.
        await self._session.execute(sa.insert(users).values(email=request.email))
        self._events.append(
            UserRegistered(
                event_name="user_registered",
                topic="users.registered",
                payload=Registration(email=request.email),
            )
        )


# --- the consumer side ----------------------------------------------------------------------


class SendWelcomeMail(cqrs.EventHandler[UserRegistered]):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def handle(self, event: UserRegistered) -> None:
        # Recorded in the inbox in this same transaction: sent once per event.
        await self._session.execute(sa.insert(welcome_mails).values(email=event.payload.email))
        print(f"welcome e-mail to {event.payload.email}")


# --- wiring ---------------------------------------------------------------------------------


async def request_session() -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


def outbox_repository(session: AsyncSession) -> SqlAlchemyOutboxedEventRepository:
    return SqlAlchemyOutboxedEventRepository(session, events, table=outbox)


def inbox_repository(session: AsyncSession) -> SqlAlchemyInboxRepository:
    return SqlAlchemyInboxRepository(session, table=inbox)


def container() -> di.Container:
    """One session per request (or per handled event); the outbox and inbox share it."""
    built = di.Container()
    built.bind(bind_by_type(Dependent(request_session, scope="request"), AsyncSession))
    built.bind(
        bind_by_type(
            Dependent(outbox_repository, scope="request"), SqlAlchemyOutboxedEventRepository
        )
    )
    built.bind(
        bind_by_type(Dependent(inbox_repository, scope="request"), SqlAlchemyInboxRepository)
    )
    return built


async def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with sessions() as session:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(await session.scalar(query) or 0)


async def main() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)

    commands = bootstrap.bootstrap(
        di_container=container(),
        commands_mapper=lambda mapper: mapper.bind(RegisterUser, RegisterUserHandler),
        outbox=SqlAlchemyOutboxedEventRepository,
    )
    consumer = events_bootstrap.bootstrap(
        di_container=container(),
        events_mapper=lambda mapper: mapper.bind(UserRegistered, SendWelcomeMail),
        inbox=SqlAlchemyInboxRepository,
    )

    broker = RabbitBroker()
    publisher = FastStreamMessageBroker(broker)
    subscribe_events(
        broker.subscriber("users.registered", ack_policy=AckPolicy.MANUAL),
        consumer,
        UserRegistered,
        dead_letter=DeadLetterTopic(publisher, "users.registered.dead-letter"),
    )
    relay = OutboxRelay.for_sqlalchemy(sessions, events, publisher, table=outbox)

    await commands.send(RegisterUser(email="ada@example.com"))
    print("registered ada@example.com")
    try:
        await commands.send(RegisterUser(email="ada@example.com"))
    except IntegrityError:
        print("refused ada@example.com: already registered")  # and no second event
    print(
        f"outbox: {await count(outbox, outbox.c.status == EventStatus.NEW.value)} event to publish"
    )

    async with TestRabbitBroker(broker):  # in memory: the consumer runs inside the publish
        print(f"relay published {await relay.run_once()} event")
        # At least once: a relay that died before marking the row publishes it again.
        # Re-driving the row does the same on purpose.
        async with sessions() as session:
            repository = SqlAlchemyOutboxedEventRepository(session, events, table=outbox)
            await repository.update_status(1, EventStatus.NEW)
            await repository.commit()
        print(f"relay published {await relay.run_once()} event (the same one again: at least once)")
    print(f"inbox: {await count(inbox)} record, so the second delivery was skipped")
    print(f"welcome e-mails sent: {await count(welcome_mails)}")
    await engine.dispose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
