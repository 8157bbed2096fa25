"""The inbox's storage protocol."""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

__all__ = ("MAX_ID_LENGTH", "InboxRepository", "check_key")

MAX_ID_LENGTH: Final = 255
"""The longest message id and consumer name an inbox stores (the columns' length)."""


@runtime_checkable
class InboxRepository(Protocol):
    """An inbox bound to one transaction (a handler's database session).

    `EventMediator(inbox=...)` builds one per handler call, in the handler's container
    scope, and calls `record` before the handler and `commit` after it.
    """

    async def record(self, message_id: str, consumer: str) -> bool:
        """Record, in the current transaction, that `consumer` processes `message_id`.

        Returns False when the record already exists (committed by an earlier
        delivery): the caller then skips the message. A concurrent transaction
        recording the same pair makes this wait for it (on PostgreSQL and MariaDB):
        True if it rolled back, False if it committed.
        """
        ...

    async def commit(self) -> None:
        """Commit the current transaction (the handler's writes and the record)."""
        ...

    async def rollback(self) -> None:
        """Roll the current transaction back (the record goes with it)."""
        ...


def check_key(message_id: str, consumer: str) -> None:
    """Raise `ValueError` for an empty or over-long message id or consumer name."""
    for what, value in (("message id", message_id), ("consumer name", consumer)):
        if not value or len(value) > MAX_ID_LENGTH:
            msg = (
                f"an inbox {what} must have 1 to {MAX_ID_LENGTH} characters, "
                f"got {len(value)}: {value[:40]!r}"
            )
            raise ValueError(msg)
