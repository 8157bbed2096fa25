"""The inbox on SQLAlchemy 2 (async): SQLite, PostgreSQL and MariaDB/MySQL, one table.

Extra `sqlalchemy` (with a driver: `aiosqlite`, `asyncpg` or `aiomysql`). The table is
defined on *your* `MetaData`, so Alembic's autogenerate sees it::

    inbox = inbox_table(Base.metadata)          # table "inbox"

| column | type | meaning |
| --- | --- | --- |
| `consumer` | String(255), primary key | the handler's full name (module.qualname) |
| `message_id` | String(255), primary key | the event's `event_id` (the wire's message id) |
| `processed_at` | DateTime(tz) | when the handler's transaction recorded it (UTC) |

`record` inserts the pair and lets the database refuse a duplicate without failing
the transaction: `INSERT ... ON CONFLICT DO NOTHING` on PostgreSQL and SQLite,
`INSERT IGNORE` on MariaDB/MySQL, a savepoint elsewhere. A duplicate of a committed
record inserts nothing (the handler is skipped); one of a record another transaction
holds waits for it. Records are never deleted by the library: prune old ones
(`DELETE FROM inbox WHERE processed_at < ...`) once no redelivery can be older.
Renaming a handler class starts a new consumer name (its old records no longer match).
"""

from __future__ import annotations

import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cqrs.inbox.repository import MAX_ID_LENGTH, check_key

__all__ = ("DEFAULT_INBOX_TABLE_NAME", "SqlAlchemyInboxRepository", "inbox_table")

DEFAULT_INBOX_TABLE_NAME: Final = "inbox"

# The table used when none is given (defined on the first call, on its own MetaData).
_default_table: sa.Table | None = None


def inbox_table(
    metadata: sa.MetaData,
    name: str = DEFAULT_INBOX_TABLE_NAME,
    *,
    schema: str | None = None,
) -> sa.Table:
    """Define the inbox table on `metadata` (see the module docstring for the columns).

    Example:
        >>> import sqlalchemy as sa
        >>> [column.name for column in inbox_table(sa.MetaData()).columns]
        ['consumer', 'message_id', 'processed_at']
    """
    return sa.Table(
        name,
        metadata,
        sa.Column("consumer", sa.String(MAX_ID_LENGTH), primary_key=True),
        sa.Column("message_id", sa.String(MAX_ID_LENGTH), primary_key=True),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        schema=schema,
    )


def _default() -> sa.Table:
    global _default_table  # noqa: PLW0603 - defined once, on first use
    if _default_table is None:
        _default_table = inbox_table(sa.MetaData())
    return _default_table


class SqlAlchemyInboxRepository:
    """`InboxRepository` writing through a handler's `AsyncSession`, in its transaction.

    Args:
        session: the session the handler writes through (request-scoped in the
            container, so the handler and this repository share it).
        table: the inbox table (`inbox_table(...)`; default: a table named `inbox`).
    """

    __slots__ = ("_session", "_table")

    def __init__(self, session: AsyncSession, *, table: sa.Table | None = None) -> None:
        self._session = session
        self._table = table if table is not None else _default()

    @property
    def session(self) -> AsyncSession:
        return self._session

    @property
    def table(self) -> sa.Table:
        return self._table

    async def record(self, message_id: str, consumer: str) -> bool:
        """Insert the record in the session's transaction; False if it exists already.

        Raises:
            ValueError: `message_id` or `consumer` is empty or longer than 255.
        """
        check_key(message_id, consumer)
        values = {
            "consumer": consumer,
            "message_id": message_id,
            "processed_at": datetime.datetime.now(datetime.timezone.utc),
        }
        dialect = self._session.get_bind().dialect.name
        statement: sa.Executable
        if dialect == "postgresql":
            statement = postgresql.insert(self._table).values(values).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(self._table).values(values).on_conflict_do_nothing()
        elif dialect in {"mysql", "mariadb"}:
            statement = sa.insert(self._table).values(values).prefix_with("IGNORE")
        else:
            return await self._record_in_savepoint(values)
        result = await self._session.execute(statement)
        return _rowcount(result) == 1

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

    async def _record_in_savepoint(self, values: dict[str, Any]) -> bool:
        try:
            async with self._session.begin_nested():
                await self._session.execute(sa.insert(self._table).values(values))
        except IntegrityError:
            return False
        return True


def _rowcount(result: object) -> int:
    # `Session.execute` is typed as returning `Result`; an INSERT gives a CursorResult.
    rowcount = getattr(result, "rowcount", None)
    return rowcount if isinstance(rowcount, int) else 0
