"""Saga storage on SQLAlchemy 2 (async): SQLite, PostgreSQL and MariaDB/MySQL, two tables.

Extra `sqlalchemy` (with `aiosqlite`), `postgresql` (`asyncpg`) or `mysql` (`aiomysql`);
`import cqrs.saga` never imports SQLAlchemy, this module does.

As with python-cqrs, the default tables are on this module's `Base`::

    from cqrs.saga.storage.sqlalchemy import Base, SqlAlchemySagaStorage

    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    storage = SqlAlchemySagaStorage(async_sessionmaker(engine, expire_on_commit=False))

or define them on *your* `MetaData`, so Alembic's autogenerate sees them::

    tables = saga_tables(Base.metadata)   # or saga_tables(metadata, executions=..., logs=...)
    storage = SqlAlchemySagaStorage(session_factory, tables=tables)

`saga_executions` (one row per saga):

| column | type | meaning |
| --- | --- | --- |
| `id` | Uuid, primary key | the saga's id |
| `name` | String(255) | the saga's name |
| `status` | String(16) | `SagaStatus` value |
| `context` | JSON | the context's `to_dict()` |
| `version` | Integer | incremented by every change of the row |
| `recovery_attempts` | Integer | recoveries counted by `claim_for_recovery` and co. |
| `created_at`, `updated_at` | DateTime(tz) | UTC |
| `lease_owner` | String(255), null | who runs the saga |
| `lease_expires_at` | DateTime(tz), null | the lease ends then unless renewed |

Indexes: `ix_<name>_recovery (status, lease_expires_at)`, `ix_<name>_updated_at`.

`saga_logs` (the step log, in insertion order):

| column | type | meaning |
| --- | --- | --- |
| `id` | BigInteger (INTEGER on SQLite), autoincrement | the line's order |
| `saga_id` | Uuid, FK to the saga (ON DELETE CASCADE), indexed | its saga |
| `step_name`, `action`, `status` | String(255), String(16), String(16) | the step's line |
| `details` | Text, null | what happened (an error) |
| `result` | JSON, null | what a completed `act` returned |
| `created_at` | DateTime(tz) | UTC |

Times are taken in Python (UTC), so every database agrees; on MySQL/MariaDB they are
`DATETIME(6)` (microseconds). Each method is one transaction. Row changes are single
conditional `UPDATE`s (the row lock makes check and write one step);
`claim_for_recovery` and `fail_exhausted` select with `FOR UPDATE SKIP LOCKED` on
PostgreSQL and MariaDB 10.6+ / MySQL 8, so concurrent workers never get the same
saga; a claim chosen as a deadlock victim (InnoDB does that even with SKIP LOCKED) was
rolled back whole and runs again, up to five times. SQLite has no row locks but one
writer at a time.

With `outbox=` (a function building an outbox on a session, e.g.
`lambda session: SqlAlchemyOutboxedEventRepository(session, event_map, table=t)`), the
notification events of a completed step are staged in that outbox in the checkpoint
that records the step: stored together, or not at all. The outbox table must be in
the same database; the outbox relay publishes the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import random
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, Final, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase

from cqrs.events import INotificationEvent
from cqrs.outbox.sqlalchemy import supports_skip_locked
from cqrs.saga.errors import SagaConcurrencyError
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry, StepAction
from cqrs.saga.storage.protocol import ISagaStorage, LogWrite, SagaState

__all__ = (
    "DEFAULT_SAGA_EXECUTION_TABLE_NAME",
    "DEFAULT_SAGA_LOG_TABLE_NAME",
    "Base",
    "SagaTables",
    "SqlAlchemySagaStorage",
    "saga_tables",
)

DEFAULT_SAGA_EXECUTION_TABLE_NAME: Final = "saga_executions"
DEFAULT_SAGA_LOG_TABLE_NAME: Final = "saga_logs"

_INTERRUPTED: Final = (
    SagaStatus.PENDING.value,
    SagaStatus.RUNNING.value,
    SagaStatus.COMPENSATING.value,
)
_RECOVERABLE: Final = (SagaStatus.RUNNING.value, SagaStatus.COMPENSATING.value)
# How often a claim that lost a deadlock is run again (its transaction was rolled back).
_CLAIM_ATTEMPTS: Final = 5
_MYSQL_DEADLOCK: Final = 1213
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def _timestamp() -> sa.types.TypeEngine[datetime.datetime]:
    # A plain MySQL/MariaDB DATETIME drops the microseconds (leases are often shorter).
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


@dataclasses.dataclass(frozen=True)
class SagaTables:
    """The two tables of a saga storage (from `saga_tables`)."""

    executions: sa.Table
    logs: sa.Table


def saga_tables(
    metadata: sa.MetaData,
    *,
    executions: str = DEFAULT_SAGA_EXECUTION_TABLE_NAME,
    logs: str = DEFAULT_SAGA_LOG_TABLE_NAME,
    schema: str | None = None,
) -> SagaTables:
    """Define the saga tables on `metadata` (columns: see the module docstring).

    Example:
        >>> import sqlalchemy as sa
        >>> tables = saga_tables(sa.MetaData(), executions="order_sagas", logs="order_saga_logs")
        >>> tables.executions.name, [column.name for column in tables.logs.columns][:3]
        ('order_sagas', ['id', 'saga_id', 'step_name'])
    """
    executions_table = sa.Table(
        executions,
        metadata,
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recovery_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", _timestamp(), nullable=True),
        sa.Index(f"ix_{executions}_recovery", "status", "lease_expires_at"),
        sa.Index(f"ix_{executions}_updated_at", "updated_at"),
        schema=schema,
    )
    logs_table = sa.Table(
        logs,
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # SQLite: the rowid
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "saga_id",
            sa.Uuid(),
            sa.ForeignKey(executions_table.c.id, ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("step_name", sa.String(255), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Index(f"ix_{logs}_saga_id", "saga_id"),
        schema=schema,
    )
    return SagaTables(executions=executions_table, logs=logs_table)


class Base(DeclarativeBase):
    """The declarative base whose metadata holds the default saga tables (python-cqrs's)."""


_DEFAULT_TABLES: Final = saga_tables(Base.metadata)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _utc(moment: datetime.datetime) -> datetime.datetime:
    # SQLite and MySQL/MariaDB hand back naive times: they were stored in UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _is_deadlock(error: DBAPIError) -> bool:
    """Whether the database chose this transaction as a deadlock's victim (rolled back)."""
    cause = error.orig
    if getattr(cause, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    args: tuple[object, ...] = getattr(cause, "args", ())
    return bool(args) and args[0] == _MYSQL_DEADLOCK


def _seconds(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


def _json_object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"expected a JSON object, got {type(value).__name__}"
        raise TypeError(msg)
    return cast("dict[str, Any]", value)


def _action(value: str) -> StepAction:
    if value == "act":
        return "act"
    if value == "compensate":
        return "compensate"
    msg = f"unknown step action {value!r}"
    raise ValueError(msg)


def _not_found(saga_id: uuid.UUID) -> ValueError:
    return ValueError(f"Saga {saga_id} not found")


def _checkpoint_values(
    owner: str | None,
    lease_seconds: float | None,
    context: dict[str, Any] | None,
    status: SagaStatus | None,
    *,
    release: bool,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if owner is not None and release:
        values["lease_owner"] = None
        values["lease_expires_at"] = None
    elif owner is not None and lease_seconds is not None:
        values["lease_expires_at"] = _utcnow() + _seconds(lease_seconds)
    if context is not None:
        values["context"] = context
    if status is not None:
        values["status"] = SagaStatus(status).value
    return values


class EventStager(Protocol):
    """What `outbox=` builds on a checkpoint's session: an outbox that stages events.

    `cqrs.outbox.sqlalchemy.SqlAlchemyOutboxedEventRepository` is one::

        outbox=lambda session: SqlAlchemyOutboxedEventRepository(session, event_map, table=t)
    """

    def add(self, event: INotificationEvent[Any], /) -> None: ...


class SqlAlchemySagaStorage(ISagaStorage):
    """An `ISagaStorage` on an `async_sessionmaker`: each method is one transaction.

    Args:
        session_factory: makes the sessions (`async_sessionmaker(engine,
            expire_on_commit=False)`); every call opens and commits its own.
        tables: the tables from `saga_tables` (default: `Base`'s `saga_executions`
            and `saga_logs`).
    """

    __slots__ = ("_executions", "_logs", "_outbox", "session_factory")

    supports_leases = True

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        tables: SagaTables | None = None,
        outbox: Callable[[AsyncSession], EventStager] | None = None,
    ) -> None:
        self.session_factory: async_sessionmaker[AsyncSession] = session_factory
        chosen = tables if tables is not None else _DEFAULT_TABLES
        self._executions = chosen.executions
        self._logs = chosen.logs
        self._outbox = outbox

    @property
    def stores_events(self) -> bool:  # type: ignore[override]  # a property over the class default
        """True with `outbox=`: steps' notification events go to the outbox."""
        return self._outbox is not None

    @property
    def tables(self) -> SagaTables:
        """The tables this storage writes."""
        return SagaTables(executions=self._executions, logs=self._logs)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncGenerator[AsyncConnection, None]:
        async with self.session_factory() as session, session.begin():
            yield await session.connection()

    async def _update(
        self,
        connection: AsyncConnection,
        saga_id: uuid.UUID,
        values: dict[str, Any],
        *conditions: sa.ColumnElement[bool],
    ) -> bool:
        """Change the row (version + 1, updated now) if it meets `conditions`; True if so."""
        table = self._executions
        result = await connection.execute(
            sa.update(table)
            .where(table.c.id == saga_id, *conditions)
            .values(version=table.c.version + 1, updated_at=_utcnow(), **values)
        )
        return result.rowcount == 1

    async def _current(
        self, connection: AsyncConnection, saga_id: uuid.UUID, column: str
    ) -> object:
        """The row's `column` (why a conditional update missed); ValueError if no row."""
        table = self._executions
        found = (
            await connection.execute(
                sa.select(table.c.id, table.c[column]).where(table.c.id == saga_id)
            )
        ).one_or_none()
        if found is None:
            raise _not_found(saga_id)
        return found[1]

    async def _change(self, saga_id: uuid.UUID, **values: Any) -> None:  # noqa: ANN401 - column values
        async with self._transaction() as connection:
            if not await self._update(connection, saga_id, values):
                raise _not_found(saga_id)

    async def create_saga(
        self,
        saga_id: uuid.UUID,
        name: str,
        context: dict[str, Any],
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        now = _utcnow()
        leased = owner is not None and lease_seconds is not None
        try:
            async with self._transaction() as connection:
                await connection.execute(
                    sa.insert(self._executions).values(
                        id=saga_id,
                        name=name,
                        status=SagaStatus.PENDING.value,
                        context=context,
                        version=1,
                        recovery_attempts=0,
                        created_at=now,
                        updated_at=now,
                        lease_owner=owner if leased else None,
                        lease_expires_at=(
                            now + _seconds(lease_seconds)
                            if leased and lease_seconds is not None
                            else None
                        ),
                    )
                )
        except IntegrityError as error:
            msg = f"Saga {saga_id} already exists"
            raise ValueError(msg) from error

    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None:
        table = self._executions
        conditions = [] if current_version is None else [table.c.version == current_version]
        async with self._transaction() as connection:
            if await self._update(connection, saga_id, {"context": context}, *conditions):
                return
            version = await self._current(connection, saga_id, "version")
        msg = (
            f"Saga {saga_id} is at version {version}, "
            f"not {current_version}: another writer changed it"
        )
        raise SagaConcurrencyError(msg)

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        await self._change(saga_id, status=SagaStatus(status).value)

    async def log_step(
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: StepAction,
        status: SagaStepStatus,
        details: str | None = None,
        *,
        result: dict[str, Any] | None = None,
    ) -> None:
        # INSERT ... SELECT from the saga's row: one statement, nothing if it is unknown.
        executions, logs = self._executions, self._logs
        line = LogWrite(step_name, action, status, details, result)
        values = self._log_values(saga_id, line)
        del values["saga_id"]
        source = sa.select(
            executions.c.id,
            *(sa.literal(value, logs.c[column].type) for column, value in values.items()),
        ).where(executions.c.id == saga_id)
        async with self._transaction() as connection:
            inserted = await connection.execute(
                sa.insert(logs).from_select(["saga_id", *values], source)
            )
            if inserted.rowcount != 1:
                raise _not_found(saga_id)

    def _log_values(self, saga_id: uuid.UUID, line: LogWrite) -> dict[str, Any]:
        return {
            "saga_id": saga_id,
            "step_name": line.step_name,
            "action": _action(line.action),
            "status": SagaStepStatus(line.status).value,
            "details": line.details,
            "result": line.result,
            "created_at": _utcnow(),
        }

    async def load_saga(self, saga_id: uuid.UUID) -> SagaState:
        state = await self.find_saga(saga_id)
        if state is None:
            raise _not_found(saga_id)
        return state

    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,  # noqa: ARG002 - python-cqrs's; leases lock instead
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        state = await self.load_saga(saga_id)
        return state.status, state.context, state.version

    async def find_saga(self, saga_id: uuid.UUID) -> SagaState | None:
        table = self._executions
        async with self._transaction() as connection:
            row = (
                (await connection.execute(sa.select(table).where(table.c.id == saga_id)))
                .mappings()
                .one_or_none()
            )
        if row is None:
            return None
        lease_expires_at: datetime.datetime | None = row["lease_expires_at"]
        return SagaState(
            saga_id=row["id"],
            name=row["name"],
            status=SagaStatus(row["status"]),
            context=_json_object(row["context"]),
            version=row["version"],
            recovery_attempts=row["recovery_attempts"],
            created_at=_utc(row["created_at"]),
            updated_at=_utc(row["updated_at"]),
            lease_owner=row["lease_owner"],
            lease_expires_at=None if lease_expires_at is None else _utc(lease_expires_at),
        )

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        logs = self._logs
        async with self._transaction() as connection:
            rows = (
                (
                    await connection.execute(
                        sa.select(logs).where(logs.c.saga_id == saga_id).order_by(logs.c.id)
                    )
                )
                .mappings()
                .all()
            )
        return [
            SagaLogEntry(
                saga_id=row["saga_id"],
                step_name=row["step_name"],
                action=_action(row["action"]),
                status=SagaStepStatus(row["status"]),
                timestamp=_utc(row["created_at"]),
                details=row["details"],
                result=None if row["result"] is None else _json_object(row["result"]),
            )
            for row in rows
        ]

    async def get_sagas_for_recovery(
        self,
        limit: int,
        max_recovery_attempts: int = 5,
        stale_after_seconds: int | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        if limit <= 0:
            return []
        table = self._executions
        query = (
            sa.select(table.c.id)
            .where(
                table.c.status.in_(_RECOVERABLE),
                table.c.recovery_attempts < max_recovery_attempts,
            )
            .order_by(table.c.updated_at)
            .limit(limit)
        )
        if stale_after_seconds is not None:
            query = query.where(table.c.updated_at < _utcnow() - _seconds(stale_after_seconds))
        if saga_name is not None:
            query = query.where(table.c.name == saga_name)
        async with self._transaction() as connection:
            return list((await connection.execute(query)).scalars())

    async def increment_recovery_attempts(
        self,
        saga_id: uuid.UUID,
        new_status: SagaStatus | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "recovery_attempts": self._executions.c.recovery_attempts + 1,
        }
        if new_status is not None:
            values["status"] = SagaStatus(new_status).value
        await self._change(saga_id, **values)

    async def set_recovery_attempts(self, saga_id: uuid.UUID, attempts: int) -> None:
        await self._change(saga_id, recovery_attempts=attempts)

    async def acquire_lease(self, saga_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
        table = self._executions
        now = _utcnow()
        free = sa.or_(
            table.c.lease_owner.is_(None),
            table.c.lease_owner == owner,
            table.c.lease_expires_at.is_(None),
            table.c.lease_expires_at <= now,
        )
        values = {"lease_owner": owner, "lease_expires_at": now + _seconds(lease_seconds)}
        async with self._transaction() as connection:
            if await self._update(connection, saga_id, values, free):
                return True
            await self._current(connection, saga_id, "lease_owner")  # ValueError if unknown
        return False

    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        table = self._executions
        async with self._transaction() as connection:
            await self._update(
                connection,
                saga_id,
                {"lease_owner": None, "lease_expires_at": None},
                table.c.lease_owner == owner,
            )

    def _interrupted(self, now: datetime.datetime, saga_name: str | None) -> sa.Select[Any]:
        table = self._executions
        query = (
            sa.select(table.c.id)
            .where(
                table.c.status.in_(_INTERRUPTED),
                sa.or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at <= now),
            )
            .order_by(table.c.updated_at)
        )
        if saga_name is not None:
            query = query.where(table.c.name == saga_name)
        return query

    async def _take(
        self, query: sa.Select[Any], limit: int, values: dict[str, Any]
    ) -> list[uuid.UUID]:
        """Lock up to `limit` rows of `query` (skipping locked ones) and change them.

        InnoDB can pick concurrent claimers as deadlock victims even with SKIP LOCKED
        (secondary-index locks); the victim's transaction is rolled back whole, so it is
        run again, a few times, after a short random pause.
        """
        attempt = 1
        while True:
            try:
                return await self._take_once(query, limit, values)
            except DBAPIError as error:
                if attempt >= _CLAIM_ATTEMPTS or not _is_deadlock(error):
                    raise
            await asyncio.sleep(random.uniform(0, 0.01 * attempt))  # noqa: S311 (jitter)
            attempt += 1

    async def _take_once(
        self, query: sa.Select[Any], limit: int, values: dict[str, Any]
    ) -> list[uuid.UUID]:
        table = self._executions
        async with self._transaction() as connection:
            query = query.limit(limit)
            if supports_skip_locked(connection.dialect):
                query = query.with_for_update(skip_locked=True)
            ids: list[uuid.UUID] = list((await connection.execute(query)).scalars())
            if ids:
                # One primary-key UPDATE per row: `id IN (...)` on a small table is a scan
                # on MariaDB, which waits for the rows other claimers locked (a deadlock).
                await connection.execute(
                    sa.update(table)
                    .where(table.c.id == sa.bindparam("claimed_id"))
                    .values(version=table.c.version + 1, updated_at=_utcnow(), **values),
                    [{"claimed_id": saga_id} for saga_id in ids],
                )
        return ids

    async def claim_for_recovery(
        self,
        owner: str,
        *,
        limit: int,
        lease_seconds: float,
        max_recovery_attempts: int = 5,
        stale_after_seconds: float | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        if limit <= 0:
            return []
        table = self._executions
        now = _utcnow()
        query = self._interrupted(now, saga_name).where(
            table.c.recovery_attempts < max_recovery_attempts
        )
        if stale_after_seconds is not None:
            query = query.where(table.c.updated_at < now - _seconds(stale_after_seconds))
        return await self._take(
            query,
            limit,
            {
                "lease_owner": owner,
                "lease_expires_at": now + _seconds(lease_seconds),
                "recovery_attempts": table.c.recovery_attempts + 1,
            },
        )

    async def fail_exhausted(
        self,
        max_recovery_attempts: int,
        *,
        limit: int,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        if limit <= 0:
            return []
        table = self._executions
        query = self._interrupted(_utcnow(), saga_name).where(
            table.c.recovery_attempts >= max_recovery_attempts
        )
        return await self._take(
            query,
            limit,
            {"status": SagaStatus.FAILED.value, "lease_owner": None, "lease_expires_at": None},
        )

    async def checkpoint(
        self,
        saga_id: uuid.UUID,
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
        context: dict[str, Any] | None = None,
        status: SagaStatus | None = None,
        log: LogWrite | None = None,
        logs: Sequence[LogWrite] = (),
        events: Sequence[INotificationEvent[Any]] = (),
        release: bool = False,
    ) -> None:
        if events and self._outbox is None:
            msg = "this SqlAlchemySagaStorage has no outbox= (stores_events is False)"
            raise ValueError(msg)
        # The conditional UPDATE locks the row and checks the lease in one step (a
        # concurrent claim waits for it, or it waits for the claim and then misses).
        values = _checkpoint_values(owner, lease_seconds, context, status, release=release)
        conditions = [] if owner is None else [self._executions.c.lease_owner == owner]
        async with self.session_factory() as session, session.begin():
            connection = await session.connection()
            if await self._update(connection, saga_id, values, *conditions):
                lines = [log, *logs] if log is not None else list(logs)
                if lines:
                    # One multi-row INSERT: the ids, and so the history, keep this order.
                    await connection.execute(
                        sa.insert(self._logs).values(
                            [self._log_values(saga_id, line) for line in lines]
                        )
                    )
                if events and self._outbox is not None:
                    outbox = self._outbox(session)
                    for event in events:
                        outbox.add(event)
                    await session.flush()
                return
            holder = await self._current(connection, saga_id, "lease_owner")
        msg = (
            f"Saga {saga_id}'s lease is held by {holder!r}, "
            f"not {owner!r}: another runner took it over"
        )
        raise SagaConcurrencyError(msg)
