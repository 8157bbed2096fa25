"""Prompt wake-ups on PostgreSQL: `NOTIFY` when outbox rows commit, `LISTEN` in the relay.

`SqlAlchemyOutboxedEventRepository.add` on a PostgreSQL session arranges a
`pg_notify('<channel>', '')` in the same transaction, run just before it commits
(PostgreSQL delivers a notification only if its transaction commits, once it has). A
relay built by `OutboxRelay.for_sqlalchemy` on an asyncpg engine listens on the
table's channel (`PostgresNotifications`) and claims at once instead of at its next
poll. Polling stays the fallback: a notification sent while no relay listened (or lost
with a connection) is picked up by the next poll, and every (re)started listener
claims once right away.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

__all__ = ("PostgresNotifications", "notification_channel", "notify_on_commit")

_CHANNELS: Final = "cqrs_outbox_channels"
_MAX_CHANNEL_BYTES: Final = 63  # PostgreSQL identifiers (NAMEDATALEN - 1)


def notification_channel(table: sa.Table) -> str:
    """The channel the commits to `table` notify (`cqrs_outbox_<schema.table>`)."""
    channel = f"cqrs_outbox_{table.fullname}"
    if len(channel.encode()) > _MAX_CHANNEL_BYTES:
        digest = hashlib.sha256(table.fullname.encode()).hexdigest()
        channel = f"cqrs_outbox_{digest[:40]}"
    return channel


def notify_on_commit(session: AsyncSession, table: sa.Table) -> None:
    """Make `session`'s next commit notify `table`'s channel (PostgreSQL only)."""
    sync_session = session.sync_session
    try:
        dialect = sync_session.get_bind().dialect.name
    except UnboundExecutionError:  # bound per table or not at all: the relay polls
        return
    if dialect != "postgresql":
        return
    channels: set[str] | None = sync_session.info.get(_CHANNELS)
    if channels is None:
        channels = set[str]()
        sync_session.info[_CHANNELS] = channels
        event.listen(sync_session, "before_commit", _notify)
        event.listen(sync_session, "after_rollback", _forget)
    channels.add(notification_channel(table))


def _notify(session: Session) -> None:
    channels: set[str] = session.info.get(_CHANNELS, set())
    for channel in sorted(channels):
        # Runs inside the commit (in SQLAlchemy's greenlet): a plain, transactional call.
        session.execute(sa.select(sa.func.pg_notify(channel, "")))
    channels.clear()


def _forget(session: Session) -> None:
    session.info.get(_CHANNELS, set()).clear()


class PostgresNotifications:
    """`Wakeups` from PostgreSQL `LISTEN` on an outbox table's channel (asyncpg engines).

    Holds one connection of `engine`'s pool while the relay runs. A dropped connection
    (a database restart) ends `listen` with an error; the relay logs it, polls, and
    listens again after its error backoff.
    """

    __slots__ = ("_channel", "_engine")

    def __init__(self, engine: AsyncEngine, *, table: sa.Table | None = None) -> None:
        from cqrs.outbox.sqlalchemy import default_outbox_table

        self._engine = engine
        self._channel = notification_channel(table if table is not None else default_outbox_table())

    @classmethod
    def for_sessionmaker(
        cls, sessionmaker: Callable[[], AsyncSession], *, table: sa.Table | None = None
    ) -> PostgresNotifications | None:
        """Notifications for `sessionmaker`'s engine if it is PostgreSQL on asyncpg, else None."""
        bind = sessionmaker.kw.get("bind") if isinstance(sessionmaker, async_sessionmaker) else None
        if (
            isinstance(bind, AsyncEngine)
            and bind.dialect.name == "postgresql"
            and bind.dialect.driver == "asyncpg"
        ):
            return cls(bind, table=table)
        return None

    @property
    def channel(self) -> str:
        return self._channel

    def __repr__(self) -> str:
        return f"PostgresNotifications(channel={self._channel!r})"

    async def listen(self, wake: Callable[[], None], /) -> None:
        """LISTEN on the channel, calling `wake()` per notification, until the connection drops."""
        closed = asyncio.Event()

        def notified(*_: object) -> None:
            wake()

        def terminated(*_: object) -> None:
            closed.set()

        async with self._engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection  # an asyncpg.Connection
            await driver.add_listener(self._channel, notified)
            driver.add_termination_listener(terminated)
            try:
                wake()  # rows may have been committed while nobody listened
                await closed.wait()
            finally:
                driver.remove_termination_listener(terminated)
                if not driver.is_closed():
                    await driver.remove_listener(self._channel, notified)
        msg = f"the connection listening on {self._channel!r} closed"
        raise ConnectionError(msg)
