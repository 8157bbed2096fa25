"""Negative: only notification events go to the outbox, and only their classes register."""

import di
from sqlalchemy.ext.asyncio import AsyncSession

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.inbox import MemoryInboxRepository
from cqrs.outbox import EventStatus, MemoryOutboxedEventRepository, OutboxedEventMap
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository
from cqrs.requests import bootstrap


class Joined(cqrs.Response):
    user_id: str


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


class UserRenamed(cqrs.DomainEvent, frozen=True):
    user_id: str


class Rename(cqrs.Request[None]):
    user_id: str


events = OutboxedEventMap(UserJoined)
memory = MemoryOutboxedEventRepository(events)
sql = SqlAlchemyOutboxedEventRepository(AsyncSession(), events)

memory.add(UserRenamed(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
memory.add(Rename(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
sql.add(UserRenamed(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
sql.add(Joined(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events.register(UserRenamed)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
events.register("renamed", UserRenamed)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
events.register(Rename)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
OutboxedEventMap(UserJoined, Rename)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events.register(UserJoined, "name")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
SqlAlchemyOutboxedEventRepository(AsyncSession(), events, "outbox")  # type: ignore[arg-type, call-arg]  # pyright: ignore[reportCallIssue]


async def relay() -> None:
    await sql.update_status(1, "produced")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    await sql.update_status(1, EventStatus.PRODUCED, error=1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class NotAnOutbox:
    """Has `add` but cannot commit: not a writer the mediator can use."""

    def add(self, event: cqrs.INotificationEvent[Joined]) -> None: ...


class SyncCommit:
    def add(self, event: cqrs.INotificationEvent[Joined]) -> None: ...
    def commit(self) -> None: ...


bootstrap.bootstrap(di_container=di.Container(), outbox=NotAnOutbox)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
bootstrap.bootstrap_streaming(di_container=di.Container(), outbox=SyncCommit)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
bootstrap.bootstrap(di_container=di.Container(), outbox=sql)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class SyncInbox:
    def record(self, message_id: str, consumer: str) -> bool:
        return True

    async def commit(self) -> None: ...


class RecordsUuids:
    async def record(self, message_id: int, consumer: str) -> bool:
        return True

    async def commit(self) -> None: ...


events_bootstrap.bootstrap(di_container=di.Container(), inbox=SyncInbox)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events_bootstrap.bootstrap(di_container=di.Container(), inbox=RecordsUuids)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events_bootstrap.bootstrap(di_container=di.Container(), inbox=NotAnOutbox)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events_bootstrap.bootstrap(di_container=di.Container(), inbox=MemoryInboxRepository())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
bootstrap.bootstrap(di_container=di.Container(), outbox=MemoryInboxRepository)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def numeric_key(event: UserJoined) -> int:
    return 1


class OrderPaidOther(cqrs.NotificationEvent[Joined], frozen=True):
    pass


def order_key(event: OrderPaidOther) -> str:
    return ""


events.register(UserJoined, partition_key=numeric_key)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events.register(UserJoined, partition_key=order_key)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
events.register(UserJoined, partition_key=lambda event: event.payload.missing)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownLambdaType, reportUnknownMemberType]


async def relays(broker: object) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from cqrs.message_brokers.devnull import DevnullMessageBroker
    from cqrs.outbox import OutboxRelay

    sessions = async_sessionmaker(create_async_engine("sqlite+aiosqlite://"))
    OutboxRelay.for_sqlalchemy(sessions, events, broker)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    OutboxRelay.for_sqlalchemy(sessions, events, DevnullMessageBroker(), wakeups="always")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
