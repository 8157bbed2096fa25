"""Positive: the outbox storage API, typed (map, repositories, table)."""

import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from typing_extensions import assert_type

import cqrs
from cqrs.message_brokers import MessageBroker
from cqrs.outbox import (
    EventStatus,
    MemoryOutbox,
    MemoryOutboxedEventRepository,
    OutboxedEvent,
    OutboxedEventMap,
)
from cqrs.outbox.repository import OutboxedEventRepository
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table


class Joined(cqrs.Response):
    user_id: str


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


class OrderPlaced(cqrs.DCNotificationEvent[dict[str, int]]):
    pass


events = OutboxedEventMap(UserJoined)
events.register(OrderPlaced)
events.register("user_joined_v1", UserJoined)
assert_type(events.get("UserJoined"), type[cqrs.INotificationEvent[Any]] | None)
assert_type(events.name_of(UserJoined), str)

table = outbox_table(sa.MetaData(), "outbox")
assert_type(table, sa.Table)


async def store(session: AsyncSession) -> None:
    repository: OutboxedEventRepository = SqlAlchemyOutboxedEventRepository(
        session, events, table=table
    )
    repository.add(UserJoined(event_name="joined", payload=Joined(user_id="u1")))
    repository.add(OrderPlaced(event_name="placed", payload={"n": 1}))
    await repository.commit()
    batch = await repository.get_many(batch_size=10, topic="users")
    assert_type(batch, list[OutboxedEvent])
    for row in batch:
        assert_type(row.event, cqrs.INotificationEvent[Any])
        assert_type(row.id, int)
        await repository.update_status(row.id, EventStatus.PRODUCED)


async def relay_side(session: AsyncSession) -> None:
    repository = SqlAlchemyOutboxedEventRepository(session, events, max_attempts=3)
    claimed = await repository.get_many(100, lease=datetime.timedelta(seconds=30))
    for row in claimed:
        await repository.update_status(
            row.id,
            EventStatus.NOT_PRODUCED,
            retry_at=datetime.datetime.now(datetime.timezone.utc),
            error="broker down",
        )
    await repository.commit()


memory: OutboxedEventRepository = MemoryOutboxedEventRepository(events, outbox=MemoryOutbox())


# The mediators take the outbox class the container builds per request.
def with_outbox() -> None:
    import di

    from cqrs.requests import bootstrap

    mediator = bootstrap.bootstrap(di_container=di.Container(), outbox=SqlAlchemyOutboxedEventRepository)
    assert_type(mediator, cqrs.RequestMediator)
    streaming = bootstrap.bootstrap_streaming(
        di_container=di.Container(), outbox=MemoryOutboxedEventRepository
    )
    assert_type(streaming, cqrs.StreamingRequestMediator)
    cqrs.RequestMediator(cqrs.RequestMap(), cqrs.DIContainer(), outbox=SqlAlchemyOutboxedEventRepository)


# The event mediator takes the inbox class the container builds per handler.
async def with_inbox() -> None:
    import di

    from cqrs.events import bootstrap
    from cqrs.inbox import InboxRepository, MemoryInboxRepository
    from cqrs.inbox.sqlalchemy import SqlAlchemyInboxRepository

    mediator = bootstrap.bootstrap(di_container=di.Container(), inbox=SqlAlchemyInboxRepository)
    assert_type(mediator, cqrs.EventMediator)
    bootstrap.bootstrap(di_container=di.Container(), inbox=MemoryInboxRepository)
    cqrs.EventMediator(cqrs.EventMap(), cqrs.DIContainer(), inbox=MemoryInboxRepository)
    repository: InboxRepository = SqlAlchemyInboxRepository(AsyncSession())
    assert_type(await repository.record("id", "consumer"), bool)


# A class's ordering key: the function receives the event typed as its class.
def user_key(event: UserJoined) -> str:
    return event.payload.user_id


events.register(UserJoined, partition_key=user_key)
events.register("user_joined_v1", UserJoined, partition_key=lambda event: event.payload.user_id)
events.register(OrderPlaced, partition_key=lambda event: str(event.payload["order_id"]))
assert_type(events.partition_key_of(UserJoined(event_name="j", payload=Joined(user_id="u"))), str | None)


# The relay: built over a sessionmaker, woken by LISTEN/NOTIFY or polling.
async def relays(engine: AsyncEngine, broker: MessageBroker) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from cqrs.outbox import OutboxRelay, Wakeups
    from cqrs.outbox.notify import PostgresNotifications

    sessions = async_sessionmaker(engine)
    relay = OutboxRelay.for_sqlalchemy(sessions, events, broker, table=table)
    assert_type(await relay.run_once(), int)
    assert_type(relay.wakeups, Wakeups | None)
    OutboxRelay.for_sqlalchemy(sessions, events, broker, wakeups=None)
    OutboxRelay.for_sqlalchemy(sessions, events, broker, wakeups=PostgresNotifications(engine))
    notifications = PostgresNotifications.for_sessionmaker(sessions, table=table)
    assert_type(notifications, PostgresNotifications | None)
    relay.wake()
