"""`EventMediator`: runs the handlers of an event received from outside (a broker)."""

from __future__ import annotations

from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH, EventProcessor
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.inbox import InboxWriter
from cqrs._interfaces.middleware import MiddlewareChain
from cqrs._maps.event_map import EventMap
from cqrs._messages.events import IEvent

__all__ = ("EventMediator",)


class EventMediator:
    """Runs every handler bound to an event's class, then their follow-ups.

    Domain and notification events alike: this is where a notification event read
    from a broker is handled.

    Meant for consumers (FastStream, Kafka, RabbitMQ): every handler runs even when
    one fails, and then the failures are raised (one as itself, several as an
    `ExceptionGroup`) so the consumer can reject or retry the message.

    With `inbox=` (a class the container builds in each handler's scope, e.g.
    `cqrs.inbox.sqlalchemy.SqlAlchemyInboxRepository`), each handler of an event that
    has an `event_id` first records the id in the inbox, in its own transaction; a
    handler that already recorded it (a redelivered message) is skipped, and one that
    did not runs, then the inbox commits its writes and the record together.
    """

    __slots__ = ("_event_map", "_processor")

    def __init__(
        self,
        event_map: EventMap,
        container: Resolver,
        middleware_chain: MiddlewareChain | None = None,
        *,
        inbox: type[InboxWriter] | None = None,
        max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
    ) -> None:
        self._event_map = event_map
        # Consumer side: a notification event received from a broker is handled by
        # the handlers bound to its class (python-cqrs does the same), never re-published.
        emitter = EventEmitter(
            event_map,
            container,
            middleware_chain=middleware_chain,
            handle_notification_events=True,
            inbox=inbox,
        )
        self._processor = EventProcessor(
            event_map,
            emitter,
            max_concurrent_event_handlers=1,
            concurrent_event_handle_enable=False,
            propagate_event_errors=True,
            max_follow_up_depth=max_follow_up_depth,
        )

    @property
    def event_map(self) -> EventMap:
        """The map this mediator looks handlers up in."""
        return self._event_map

    async def send(self, event: IEvent) -> None:
        """Handle `event` with its bound handlers, then the follow-ups, in order."""
        await self._processor.emit_events((event,))
