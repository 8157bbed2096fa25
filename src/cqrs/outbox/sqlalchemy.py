"""The outbox on SQLAlchemy 2 (async): SQLite, PostgreSQL and MariaDB/MySQL, one table.

Extra `sqlalchemy` (with `aiosqlite`), `postgresql` (`asyncpg`) or `mysql` (`aiomysql`);
`import cqrs` and `import cqrs.outbox` never import SQLAlchemy, this module does.

The table is defined on *your* `MetaData`, so Alembic's autogenerate sees it::

    # models.py (the metadata your env.py hands to Alembic as target_metadata)
    import sqlalchemy as sa
    from cqrs.outbox.sqlalchemy import outbox_table

    class Base(DeclarativeBase):
        pass

    outbox = outbox_table(Base.metadata)            # table "outbox"
    # or: outbox_table(metadata, "orders_outbox", schema="messaging")

    # then: alembic revision --autogenerate -m "outbox"; alembic upgrade head

and the repository writes through the session of the handler, in its transaction::

    events = OutboxedEventMap(OrderPlaced, OrderCancelled)

    async with session_factory() as session, session.begin():
        session.add(Order(id=order_id))                              # the handler's write
        outbox = SqlAlchemyOutboxedEventRepository(session, events, table=outbox)
        outbox.add(OrderPlaced(event_name="order_placed", payload=...))
    # committed together, or (on an exception) neither

The columns (portable types only: `Uuid`, `DateTime(timezone=True)`, `JSON`, `String`,
`Integer`; every time is stored in UTC):

| column | type | meaning |
| --- | --- | --- |
| `id` | BigInteger (INTEGER on SQLite), autoincrement | the row; `OutboxedEvent.id` |
| `event_id` | Uuid, unique | the event's `event_id`: the same event is stored once |
| `event_name` | String(255) | the name its class is registered under in the `OutboxedEventMap` |
| `topic` | String(255) | the broker topic |
| `payload` | JSON | the wire body: the event's `to_dict()` |
| `status` | String(16) | `EventStatus` value (state machine: `cqrs.outbox.repository`) |
| `attempts` | Integer | failed publish attempts |
| `created_at` | DateTime(tz) | when it was added |
| `next_attempt_at` | DateTime(tz), null | not claimed before (backoff); null when done |
| `locked_until` | DateTime(tz), null | a relay's lease: not claimed again before this |
| `partition_key` | String(255), null | rows with one key are published in order (one at a time) |
| `last_error` | Text, null | why the last attempt failed |

Indexes: `ix_<name>_claim (next_attempt_at, id)` for the claim query and
`ix_<name>_partition (partition_key, next_attempt_at, id)` for its per-key order.
The claim index holds only rows still to publish in its range (done rows have a null
`next_attempt_at`) and gives the claim its order: the database walks it and stops at
`LIMIT`. An index on `(status, next_attempt_at)` would not: MariaDB then reads every
candidate and sorts them, and `FOR UPDATE` locks every row it read, so a second relay's
`SKIP LOCKED` finds nothing (tested). On MySQL/MariaDB the claim names the index
(`FORCE INDEX`), since on small tables their planner prefers a scan and a sort. On
MySQL/MariaDB the times are `DATETIME(6)` (a plain `DATETIME` drops the microseconds).

The claim query (`get_many`), oldest first::

    SELECT id, event_name, topic, payload, status, attempts, partition_key FROM outbox
    WHERE next_attempt_at <= :now AND status IN ('new', 'not_produced')
      AND (locked_until IS NULL OR locked_until <= :now) [AND topic = :topic]
      AND (partition_key IS NULL OR NOT EXISTS (      -- the earliest pending row of its key
          SELECT 1 FROM outbox earlier WHERE earlier.partition_key = outbox.partition_key
          AND earlier.next_attempt_at IS NOT NULL AND earlier.id < outbox.id))
    ORDER BY next_attempt_at, id LIMIT :batch_size
    FOR UPDATE SKIP LOCKED      -- PostgreSQL, MariaDB 10.6+, MySQL 8; not on SQLite
    -- MySQL/MariaDB: FROM outbox FORCE INDEX (ix_outbox_claim)

SQLite has no row locks (one writer at a time): run one relay per SQLite database.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry

from cqrs.events import INotificationEvent
from cqrs.exceptions import InvalidConfigurationError, MessageDecodeError
from cqrs.outbox.map import OutboxedEventMap
from cqrs.outbox.notify import notify_on_commit
from cqrs.outbox.repository import DEFAULT_MAX_ATTEMPTS, EventStatus, OutboxedEvent

__all__ = (
    "DEFAULT_OUTBOX_TABLE_NAME",
    "SqlAlchemyOutboxedEventRepository",
    "default_outbox_table",
    "outbox_table",
    "supports_skip_locked",
)

_logger = logging.getLogger("cqrs.outbox")

DEFAULT_OUTBOX_TABLE_NAME: Final = "outbox"
"""The table name `outbox_table` and the repository use by default (as python-cqrs)."""

_MARIADB_SKIP_LOCKED: Final = (10, 6)
_MYSQL_SKIP_LOCKED: Final = (8, 0, 1)
_ERROR_LENGTH: Final = 2000
_CLAIMABLE: Final = (EventStatus.NEW.value, EventStatus.NOT_PRODUCED.value)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _timestamp() -> sa.types.TypeEngine[datetime.datetime]:
    # MySQL/MariaDB DATETIME keeps whole seconds (MySQL even rounds up): a row added now
    # would not be due now. DATETIME(6) keeps microseconds; other dialects need nothing.
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def outbox_table(
    metadata: sa.MetaData,
    name: str = DEFAULT_OUTBOX_TABLE_NAME,
    *,
    schema: str | None = None,
) -> sa.Table:
    """Define the outbox table on `metadata` (see the module docstring for the columns).

    Example:
        >>> import sqlalchemy as sa
        >>> table = outbox_table(sa.MetaData(), "orders_outbox")
        >>> [column.name for column in table.columns][:4]
        ['id', 'event_id', 'event_name', 'topic']
    """
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # SQLite: the rowid
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_name", sa.String(255), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default=EventStatus.NEW.value),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=True),
        sa.Column("locked_until", _timestamp(), nullable=True),
        sa.Column("partition_key", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("event_id", name=f"uq_{name}_event_id"),
        sa.Index(f"ix_{name}_claim", "next_attempt_at", "id"),
        sa.Index(f"ix_{name}_partition", "partition_key", "next_attempt_at", "id"),
        schema=schema,
    )


def supports_skip_locked(dialect: sa.Dialect) -> bool:
    """Whether `dialect` (of a connected engine) runs `FOR UPDATE SKIP LOCKED`."""
    if dialect.name == "postgresql":
        return True
    if dialect.name in {"mysql", "mariadb"}:
        version = tuple(dialect.server_version_info or ())
        if getattr(dialect, "is_mariadb", False):
            return version >= _MARIADB_SKIP_LOCKED
        return version >= _MYSQL_SKIP_LOCKED
    return False


class _OutboxRow:
    """A row to insert; mapped (imperatively) onto one outbox table per subclass."""

    def __init__(self, **values: object) -> None:
        for key, value in values.items():
            setattr(self, key, value)


# One mapped class per table, for the process's life (a mapper holds its table anyway).
_ROW_CLASSES: dict[sa.Table, type[_OutboxRow]] = {}


def _row_class(table: sa.Table) -> type[_OutboxRow]:
    # The handler's session flushes ORM objects on its commit, whoever commits it: the
    # outbox row must be one, or a unit of work committing the session directly (not
    # through `commit()` here) would lose it.
    found = _ROW_CLASSES.get(table)
    if found is None:
        found = type(f"OutboxRow_{table.name}", (_OutboxRow,), {})
        registry().map_imperatively(found, table)
        _ROW_CLASSES[table] = found
    return found


class SqlAlchemyOutboxedEventRepository:
    """An `OutboxedEventRepository` on an `AsyncSession`: the handler's own.

    Args:
        session: the session the handler writes with; `add` stages the outbox row in it,
            so its commit stores both and its rollback neither.
        event_map: the event classes this outbox stores.
        table: the table from `outbox_table` (default: an `outbox` table on a private
            MetaData; pass your own so that Alembic sees it).
        max_attempts: failed attempts (`update_status(id, NOT_PRODUCED)`) after which
            a row is FAILED.
        notify: on PostgreSQL, the commit that stores added rows also sends
            `pg_notify` on the table's channel, so that a listening relay wakes at
            once (one more statement per commit, about 0.25 ms here); False: relays
            find the rows at their next poll.
    """

    __slots__ = ("_event_map", "_max_attempts", "_notify", "_row", "_session", "_table")

    def __init__(
        self,
        session: AsyncSession,
        event_map: OutboxedEventMap,
        *,
        table: sa.Table | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        notify: bool = True,
    ) -> None:
        if max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {max_attempts}"
            raise InvalidConfigurationError(msg)
        self._session = session
        self._event_map = event_map
        self._table = table if table is not None else default_outbox_table()
        self._row = _row_class(self._table)
        self._max_attempts = max_attempts
        self._notify = notify

    @property
    def session(self) -> AsyncSession:
        """The session the rows are written through."""
        return self._session

    @property
    def table(self) -> sa.Table:
        """The outbox table."""
        return self._table

    def add(
        self,
        event: INotificationEvent[Any],
        *,
        partition_key: str | None = None,
        not_before: datetime.datetime | None = None,
    ) -> None:
        """Stage `event` in the session's transaction (its class must be registered).

        Args:
            event: the notification event; stored once per `event_id` (adding the same
                event twice fails on the unique `event_id` when the session flushes).
            partition_key: rows with the same key are published in the order they were
                added (default: the map's `partition_key` function, else unordered).
            not_before: not claimed before this time (default: at once).

        Raises:
            UnregisteredEventError: the event's class is not in the event map.
        """
        name, payload = self._event_map.encode(event)
        now = _utcnow()
        self._session.add(
            self._row(
                event_id=event.event_id,
                event_name=name,
                topic=event.topic,
                payload=payload,
                status=EventStatus.NEW.value,
                attempts=0,
                created_at=now,
                next_attempt_at=_utc(not_before) if not_before is not None else now,
                partition_key=(
                    partition_key
                    if partition_key is not None
                    else self._event_map.partition_key_of(event)
                ),
            )
        )
        if self._notify:
            notify_on_commit(self._session, self._table)

    async def get_many(
        self,
        batch_size: int = 100,
        topic: str | None = None,
        *,
        lease: datetime.timedelta | None = None,
    ) -> list[OutboxedEvent]:
        """Claim up to `batch_size` rows due now (of `topic`, if given), earliest due first.

        On PostgreSQL and MariaDB/MySQL the rows are locked (`FOR UPDATE SKIP LOCKED`)
        until the session's transaction ends: another session's `get_many` skips them.
        With `lease`, `locked_until` is set too, so the rows stay claimed for that long
        after this transaction commits. A row that cannot be decoded is not returned: it
        counts a failed attempt, with the reason in `last_error`.
        """
        table = self._table
        now = _utcnow()
        condition = sa.and_(
            table.c.next_attempt_at <= now,
            table.c.status.in_(_CLAIMABLE),
            sa.or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
        if topic is not None:
            condition = sa.and_(condition, table.c.topic == topic)
        # Per-key order: only the earliest pending row of a key is claimable. Pending
        # rows are exactly those with a next_attempt_at, which the partition index
        # holds, so this reads the key's pending rows only.
        earlier = table.alias("earlier")
        has_earlier_pending = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.partition_key == table.c.partition_key,
                earlier.c.next_attempt_at.is_not(None),
                earlier.c.id < table.c.id,
            )
            .exists()
        )
        condition = sa.and_(
            condition, sa.or_(table.c.partition_key.is_(None), sa.not_(has_earlier_pending))
        )
        query = (
            sa.select(
                table.c.id,
                table.c.event_name,
                table.c.topic,
                table.c.payload,
                table.c.status,
                table.c.attempts,
                table.c.partition_key,
            )
            .where(condition)
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(batch_size)
        )
        connection = await self._session.connection()
        if supports_skip_locked(connection.dialect):
            query = query.with_for_update(skip_locked=True)
        claim_index = f"ix_{table.name}_claim"
        if any(index.name == claim_index for index in table.indexes):
            # On small tables MariaDB prefers a scan and a sort, and FOR UPDATE then locks
            # every row it read: the index walk stops at LIMIT and locks only the batch.
            for dialect in ("mysql", "mariadb"):
                query = query.with_hint(table, f"FORCE INDEX ({claim_index})", dialect)
        rows = (await self._session.execute(query)).all()
        found: list[OutboxedEvent] = []
        for row in rows:
            try:
                event = self._event_map.decode(row.event_name, row.payload)
            except MessageDecodeError as error:
                _logger.exception("outbox row %s (%s) cannot be decoded", row.id, row.event_name)
                await self.update_status(row.id, EventStatus.NOT_PRODUCED, error=str(error))
                continue
            found.append(
                OutboxedEvent(
                    id=row.id,
                    event=event,
                    topic=row.topic,
                    status=EventStatus(row.status),
                    attempts=row.attempts,
                    partition_key=row.partition_key,
                )
            )
        if lease is not None and found:
            await self._session.execute(
                sa.update(table)
                .where(table.c.id.in_([claimed.id for claimed in found]))
                .values(locked_until=now + lease)
            )
        return found

    async def update_status(
        self,
        outboxed_event_id: int,
        new_status: EventStatus,
        *,
        retry_at: datetime.datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record what happened to a row, in the session's transaction.

        - PRODUCED: published (final). FAILED: given up (kept, never deleted).
        - NOT_PRODUCED: one more failed attempt; FAILED once `attempts` reaches
          `max_attempts`. `retry_at`: not claimed again before then.
        - NEW: re-drive a row (attempts back to 0, due at once or at `retry_at`).

        Every status clears the lease; `error` is kept in `last_error`.
        """
        table = self._table
        status = EventStatus(new_status)
        values: list[tuple[sa.Column[Any], object]] = []
        if status is EventStatus.NOT_PRODUCED:
            # Every expression reads `attempts` before it changes: MySQL assigns left to
            # right (later expressions see the new values), PostgreSQL and SQLite from the
            # old row; with `attempts` assigned last all three agree.
            gives_up = table.c.attempts + 1 >= self._max_attempts
            due = _utc(retry_at) if retry_at is not None else table.c.next_attempt_at
            values.append(
                (
                    table.c.status,
                    sa.case(
                        (gives_up, EventStatus.FAILED.value),
                        else_=EventStatus.NOT_PRODUCED.value,
                    ),
                )
            )
            values.append((table.c.next_attempt_at, sa.case((gives_up, sa.null()), else_=due)))
            values.append((table.c.attempts, table.c.attempts + 1))
        elif status is EventStatus.NEW:
            values.append((table.c.status, status.value))
            values.append((table.c.attempts, 0))
            values.append((table.c.next_attempt_at, _utc(retry_at) if retry_at else _utcnow()))
        else:  # PRODUCED, FAILED: done, out of the claim index
            values.append((table.c.status, status.value))
            values.append((table.c.next_attempt_at, None))
        if status is EventStatus.NEW or error is not None:
            values.append((table.c.last_error, error[:_ERROR_LENGTH] if error else None))
        values.append((table.c.locked_until, None))
        await self._session.execute(
            sa.update(table).where(table.c.id == outboxed_event_id).ordered_values(*values)
        )

    async def mark_produced(self, outboxed_event_ids: Sequence[int], /) -> None:
        """`update_status(id, PRODUCED)` for many rows, in one statement.

        The relay marks a batch's published rows with it: one round trip instead of
        one per row.
        """
        if not outboxed_event_ids:
            return
        table = self._table
        await self._session.execute(
            sa.update(table)
            .where(table.c.id.in_(list(outboxed_event_ids)))
            .values(status=EventStatus.PRODUCED.value, next_attempt_at=None, locked_until=None)
        )

    async def commit(self) -> None:
        """Commit the session (the handler's writes and the outbox rows together)."""
        await self._session.commit()

    async def rollback(self) -> None:
        """Roll the session back (neither the handler's writes nor the outbox rows stay)."""
        await self._session.rollback()


def _utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        msg = f"outbox times must be timezone-aware, got {moment!r}"
        raise InvalidConfigurationError(msg)
    return moment.astimezone(datetime.timezone.utc)


_DEFAULT_METADATA = sa.MetaData()


def default_outbox_table() -> sa.Table:
    """The table used when none is given: `outbox`, on a private MetaData."""
    found = _DEFAULT_METADATA.tables.get(DEFAULT_OUTBOX_TABLE_NAME)
    return found if found is not None else outbox_table(_DEFAULT_METADATA)
