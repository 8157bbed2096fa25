"""The mediators' transactional outbox: a handler's notification events stored with its writes.

With an outbox type configured, the mediator builds the handler and the outbox in one
container scope (so both get the same request-scoped session), and once the handler has
returned (or yielded an item) it stages the notification events in the outbox and
commits, before the scope closes. Domain events are processed in-process as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typing_extensions import TypeIs

from cqrs._dispatch.companion import Companions
from cqrs._errors import InvalidConfigurationError
from cqrs._interfaces.outbox import OutboxWriter
from cqrs._introspect import type_name
from cqrs._messages.events import IEvent, INotificationEvent

__all__ = ("TransactionalOutbox", "refuse_composite")


class TransactionalOutbox(Companions[OutboxWriter]):
    """Builds handlers with their outbox, and stores their notification events in it."""

    __slots__ = ()

    def __init__(self, outbox_type: type[OutboxWriter]) -> None:
        super().__init__(
            outbox_type,
            wanted=(
                "outbox= takes the class the container builds for each request "
                "(e.g. SqlAlchemyOutboxedEventRepository)"
            ),
        )

    async def store(self, outbox: OutboxWriter, events: Sequence[IEvent]) -> list[IEvent]:
        """Stage the notification events among `events`, commit; return the other events."""
        rest: list[IEvent] = []
        for event in events:
            if _is_notification(event):
                outbox.add(event)
            else:
                rest.append(event)
        # Committed even without events: the handler's writes are in this transaction.
        await outbox.commit()
        return rest


def _is_notification(event: IEvent) -> TypeIs[INotificationEvent[Any]]:
    return isinstance(event, INotificationEvent)


def refuse_composite(binding: object, request: object) -> InvalidConfigurationError:
    msg = (
        f"{type_name(type(request))} is bound to {type_name(binding)} (a fallback or a "
        "chain), and the mediator's outbox= writes through one handler's session; add "
        "the events to an outbox inside the handlers instead"
    )
    return InvalidConfigurationError(msg)
