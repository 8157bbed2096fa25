"""The inbox (extra `sqlalchemy` for the SQL one): each handler processes a message once.

Brokers deliver at least once: a consumer that dies after its handler committed and
before it acknowledged the message gets it again. With an inbox, every handler of an
event first records the event's id in its own transaction, under a unique constraint
on (handler, id); a redelivered message finds the record and the handler is skipped.
That is effectively-once processing on top of at-least-once delivery::

    mediator = cqrs.events.bootstrap.bootstrap(
        di_container=container, events_mapper=events, inbox=SqlAlchemyInboxRepository
    )

`import cqrs.inbox` imports no SQLAlchemy: the table and the SQL repository live in
`cqrs.inbox.sqlalchemy`.
"""

from cqrs.inbox.memory import MemoryInbox, MemoryInboxRepository
from cqrs.inbox.repository import MAX_ID_LENGTH, InboxRepository

__all__ = ("MAX_ID_LENGTH", "InboxRepository", "MemoryInbox", "MemoryInboxRepository")
