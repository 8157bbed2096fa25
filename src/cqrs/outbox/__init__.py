"""The transactional outbox (extra `sqlalchemy`): events stored with your writes, published later.

`import cqrs.outbox` imports no SQLAlchemy: the SQL repository and the table live in
`cqrs.outbox.sqlalchemy`. The python-cqrs paths keep working:
`cqrs.outbox.repository.OutboxedEventRepository`, `cqrs.outbox.map.OutboxedEventMap`
and `cqrs.outbox.sqlalchemy.SqlAlchemyOutboxedEventRepository`.
"""

from cqrs.outbox.map import OutboxedEventMap, UnregisteredEventError
from cqrs.outbox.memory import MemoryOutbox, MemoryOutboxedEventRepository
from cqrs.outbox.relay import (
    DEFAULT_LEASE,
    Backoff,
    OutboxRelay,
    OutboxRelayRepository,
    PublishOutcome,
    RepositoryFactory,
    Wakeups,
    outbox_message,
)
from cqrs.outbox.repository import (
    DEFAULT_MAX_ATTEMPTS,
    EventStatus,
    OutboxedEvent,
    OutboxedEventRepository,
)

__all__ = (
    "DEFAULT_LEASE",
    "DEFAULT_MAX_ATTEMPTS",
    "Backoff",
    "EventStatus",
    "MemoryOutbox",
    "MemoryOutboxedEventRepository",
    "OutboxRelay",
    "OutboxRelayRepository",
    "OutboxedEvent",
    "OutboxedEventMap",
    "OutboxedEventRepository",
    "PublishOutcome",
    "RepositoryFactory",
    "UnregisteredEventError",
    "Wakeups",
    "outbox_message",
)
