"""python-cqrs's `cqrs.producer.EventProducer`, over `cqrs.outbox.OutboxRelay`'s logic.

Prefer `cqrs.outbox.OutboxRelay`: it claims with a lease in a short transaction,
publishes outside it, backs off, reports FAILED rows and survives a database restart.
`EventProducer` keeps python-cqrs's shape for code written against it::

    producer = EventProducer(message_broker, repository)
    async for batch in producer.event_batch_generator(batch_size=100):
        for outboxed in batch:
            await producer.send_message(outboxed)  # publish, then stage its status
        await producer.repository.commit()
        await asyncio.sleep(1)

Differences: the message is named like the emitter's (`type(event).__name__`), a
failed publish stages NOT_PRODUCED with a backoff (`retry_at`) and the error text, and
the repository must take those keywords (`cqrs.outbox.OutboxRelayRepository`: both
repositories of `cqrs.outbox` do). python-cqrs's `SessionFactory` alias is not here (it
would import SQLAlchemy): use `async_sessionmaker[AsyncSession]`.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

from cqrs.message_brokers import MessageBroker
from cqrs.outbox import (
    DEFAULT_MAX_ATTEMPTS,
    Backoff,
    OutboxedEvent,
    OutboxRelay,
    OutboxRelayRepository,
)

__all__ = ("EventProducer",)


class EventProducer:
    """python-cqrs's outbox producer: reads batches from a repository and publishes them.

    Args:
        message_broker: where the events go.
        repository: the outbox repository; the caller commits it after `send_message`.
        max_attempts: the repository's `max_attempts` (FAILED rows are logged at ERROR).
        backoff: the delay before a failed row is claimed again.
    """

    __slots__ = ("_relay", "message_broker", "repository")

    def __init__(
        self,
        message_broker: MessageBroker,
        repository: OutboxRelayRepository,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff | None = None,
    ) -> None:
        self.message_broker: MessageBroker = message_broker
        self.repository: OutboxRelayRepository = repository
        self._relay = OutboxRelay(
            lambda: self.repository,
            message_broker,
            max_attempts=max_attempts,
            backoff=backoff,
            lease=datetime.timedelta(days=1),  # unused: python-cqrs claims without one
        )

    async def event_batch_generator(
        self, batch_size: int = 100
    ) -> AsyncIterator[list[OutboxedEvent]]:
        """Yield batches of due rows, forever (an empty list when none is due)."""
        while True:
            yield await self.repository.get_many(batch_size)

    async def send_message(self, event: OutboxedEvent) -> None:
        """Publish one row and stage its status in the repository (the caller commits).

        A publish failure is logged and staged as NOT_PRODUCED, not raised.
        """
        outcome = await self._relay.publish(event)
        await self._relay.record(self.repository, outcome)
        self._relay.report((outcome,))
