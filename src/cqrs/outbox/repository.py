"""The outbox's storage protocol: python-cqrs's `OutboxedEventRepository`, typed.

A repository stores notification events in the same transaction as a handler's own
writes (`add`, then the unit of work's `commit`), and hands them to a relay later
(`get_many`), which records what the broker did with each one (`update_status`).

The state machine of an outbox row::

    add() + commit()
          │
          ▼
        NEW ──────────────┬──────────────────────────────► PRODUCED   (published; final)
          │               │
          │ publish failed│ published
          ▼               │
     NOT_PRODUCED ────────┘   (attempts + 1; claimable again once next_attempt_at is due)
          │
          │ attempts reach max_attempts (or update_status(FAILED))
          ▼
        FAILED  (kept and reported, never dropped; update_status(NEW) re-drives it)

- `get_many` returns NEW and NOT_PRODUCED rows whose `next_attempt_at` is due and whose
  lease (`locked_until`) is not held, oldest first. On PostgreSQL and MariaDB it locks
  them (`FOR UPDATE SKIP LOCKED`) until the transaction ends, so concurrent relays never
  receive the same row; with `lease=` it also writes a lease, so the rows stay claimed
  after a short claiming transaction commits (publish outside it, mark in another).
- `update_status(id, PRODUCED)` is final. `update_status(id, NOT_PRODUCED)` counts an
  attempt: the row becomes FAILED once `attempts` reaches the repository's
  `max_attempts`. Both clear the lease.
- A row that cannot be decoded (its class is not registered, or its data no longer
  validates) counts as a failed attempt too, with the reason in `last_error`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Protocol, runtime_checkable

from cqrs.events import INotificationEvent

__all__ = (
    "DEFAULT_MAX_ATTEMPTS",
    "EventStatus",
    "OutboxedEvent",
    "OutboxedEventRepository",
)

DEFAULT_MAX_ATTEMPTS = 5
"""Publish attempts before a row is FAILED (python-cqrs stops after 5 too)."""


class EventStatus(str, enum.Enum):
    """The status of an outbox row (the values are what the `status` column stores)."""

    NEW = "new"
    PRODUCED = "produced"
    NOT_PRODUCED = "not_produced"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxedEvent:
    """A stored notification event, decoded, as `get_many` returns it.

    Attributes:
        id: the row's id (pass it to `update_status`).
        event: the decoded event, an instance of its registered class.
        topic: the broker topic to publish to (the event's `topic` when added).
        status: NEW or NOT_PRODUCED when returned by `get_many`.
        attempts: failed publish attempts so far.
        partition_key: rows with the same key are meant to be published in order
            (None: no ordering constraint).
    """

    id: int
    event: INotificationEvent[Any]
    topic: str
    status: EventStatus
    attempts: int = 0
    partition_key: str | None = None


@runtime_checkable
class OutboxedEventRepository(Protocol):
    """The outbox storage, as python-cqrs 4.x defines it (a protocol here).

    `MemoryOutboxedEventRepository` (tests) and `SqlAlchemyOutboxedEventRepository`
    (`cqrs.outbox.sqlalchemy`) implement it; a class of your own only needs these methods.
    """

    def add(self, event: INotificationEvent[Any]) -> None:
        """Stage `event` in the current transaction (stored by `commit`)."""
        ...

    async def get_many(
        self, batch_size: int = 100, topic: str | None = None
    ) -> list[OutboxedEvent]:
        """Up to `batch_size` events due for publishing (of `topic`, if given), oldest first."""
        ...

    async def update_status(self, outboxed_event_id: int, new_status: EventStatus) -> None:
        """Record what happened to a row (see the state machine in this module)."""
        ...

    async def commit(self) -> None:
        """Commit the current transaction."""
        ...

    async def rollback(self) -> None:
        """Roll the current transaction back."""
        ...
