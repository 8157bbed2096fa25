"""What a mediator needs from an outbox: stage events in a transaction, then commit it."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from cqrs._messages.events import INotificationEvent

__all__ = ("OutboxWriter",)


@runtime_checkable
class OutboxWriter(Protocol):
    """An outbox bound to a handler's transaction (its database session).

    `cqrs.outbox.OutboxedEventRepository` implementations (the SQLAlchemy one, the
    in-memory one) are writers; the mediators need only these two methods.
    """

    def add(self, event: INotificationEvent[Any]) -> None:
        """Stage `event` in the current transaction."""
        ...

    async def commit(self) -> None:
        """Commit the current transaction: the handler's writes and the staged events."""
        ...
