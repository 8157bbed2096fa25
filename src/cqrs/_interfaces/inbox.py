"""What an event mediator needs from an inbox: record a message per handler, then commit."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ("InboxWriter",)


@runtime_checkable
class InboxWriter(Protocol):
    """An inbox bound to a handler's transaction (its database session).

    `cqrs.inbox` implementations (SQLAlchemy, in-memory) are writers; the event
    mediator needs only these two methods.
    """

    async def record(self, message_id: str, consumer: str) -> bool:
        """Record that `consumer` processes `message_id` in the current transaction.

        Returns False when it already did (a redelivery): the caller skips it.
        """
        ...

    async def commit(self) -> None:
        """Commit the current transaction: the handler's writes and the record."""
        ...
