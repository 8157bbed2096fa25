"""`EventEmitter`: delivers one event to its handlers, or to the message broker."""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from typing_extensions import TypeIs

from cqrs._dispatch.companion import Companions
from cqrs._errors import EventBrokerMissingError, InvalidConfigurationError
from cqrs._interfaces.container import Release, Resolver, ScopedResolver
from cqrs._interfaces.handlers import EventHandler
from cqrs._interfaces.inbox import InboxWriter
from cqrs._interfaces.middleware import MiddlewareChain
from cqrs._introspect import type_name
from cqrs._maps.event_map import EventBinding, EventMap
from cqrs._messages.events import IEvent, INotificationEvent

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

if TYPE_CHECKING:
    from cqrs._interfaces.broker import Message, MessageBroker

__all__ = (
    "EmitOutcome",
    "EventEmitter",
    "EventHandlingFailure",
    "all_events",
    "non_events",
    "raise_failures",
)

logger = logging.getLogger("cqrs")

INBOX_WANTED = "inbox= takes the class the container builds for each handler"


@dataclasses.dataclass(frozen=True, slots=True)
class EventHandlingFailure:
    """One handler (or the broker) that failed on one event."""

    event: IEvent
    handler_name: str
    error: Exception


@dataclasses.dataclass(frozen=True, slots=True)
class EmitOutcome:
    """What emitting one event produced: follow-up events, and the failures."""

    follow_ups: Sequence[IEvent]
    failures: Sequence[EventHandlingFailure]


_NOTHING = EmitOutcome((), ())


_ItemT = TypeVar("_ItemT")


def _extended(items: list[_ItemT] | None, more: Iterable[_ItemT]) -> list[_ItemT]:
    """`items` (a new list if None) with `more` appended."""
    items = [] if items is None else items
    items.extend(more)
    return items


# Event classes already seen, and whether each is a notification: `isinstance` against
# the event ABCs runs Python code, and these checks run for every event.
_EVENT_CLASSES: dict[type, bool] = {}


def _event_class(cls: type) -> bool | None:
    """Whether `cls` (an event class) is a notification event; None if not an event."""
    notification = _EVENT_CLASSES.get(cls)
    if notification is None and issubclass(cls, IEvent):
        notification = _EVENT_CLASSES[cls] = issubclass(cls, INotificationEvent)
    return notification


def _is_notification(event: IEvent) -> TypeIs[INotificationEvent[Any]]:
    return _event_class(type(event)) is True


def all_events(events: Sequence[object]) -> bool:
    """Whether everything in `events` is an event (typed code can still put anything there)."""
    for event in events:  # noqa: SIM110 - a loop, not all(genexpr): most lists hold one or two
        if _event_class(type(event)) is None:
            return False
    return True


def non_events(
    events: Sequence[object], raised_by: str, parent: IEvent | None
) -> tuple[list[IEvent], list[EventHandlingFailure]]:
    """Split `events` into the events and a `TypeError` failure per non-event.

    Called only when a cheap check found a non-event: the common case costs one
    `all(isinstance(...))`.
    """
    valid: list[IEvent] = []
    failures: list[EventHandlingFailure] = []
    for event in events:
        if isinstance(event, IEvent):
            valid.append(event)
            continue
        kind = "an event class, not an instance" if isinstance(event, type) else "not an event"
        msg = (
            f"{raised_by} put {event!r} in its events: {kind}; a handler's events "
            "must be instances of cqrs.DomainEvent, cqrs.NotificationEvent[...] or "
            "their dataclass forms"
        )
        # The failure names the event being handled when there is one, else the object.
        failures.append(
            EventHandlingFailure(
                parent if parent is not None else cast("IEvent", event), raised_by, TypeError(msg)
            )
        )
    return valid, failures


def raise_failures(failures: Sequence[EventHandlingFailure], what: str) -> None:
    """Raise one failure as itself, several as an `ExceptionGroup`; none: return."""
    if not failures:
        return
    if len(failures) == 1:
        raise failures[0].error
    msg = f"{len(failures)} event handlers failed while {what}"
    raise ExceptionGroup(msg, [failure.error for failure in failures])


@functools.cache
def _message_type() -> type[Message]:
    # `Message` is a pydantic model: its module is loaded on the first publish, not by
    # `import cqrs` (the first model class loads pydantic's fields and plugins).
    from cqrs._interfaces.broker import Message

    return Message


class EventEmitter:
    """Sends a domain event to its bound handlers and a notification event to the broker.

    Args:
        event_map: the handlers of each domain event type.
        container: builds a fresh handler instance for every event.
        message_broker: receives notification events as `Message`s.
        middleware_chain: wraps every event handler call.
        handle_notification_events: deliver notification events to their bound
            handlers, like domain events, instead of publishing them (the consumer
            side: `EventMediator`).

    An extension point: `EventProcessor` (and so every mediator) calls `emit` when a
    subclass overrides it or a test patches it on the instance, and reports what it
    raises like a handler failure; otherwise it calls `emit_settled` directly.
    """

    # `__dict__` as well: a test may patch `emit` on an instance, as python-cqrs's do.
    __slots__ = (
        "__dict__",
        "_bindings",
        "_container",
        "_event_map",
        "_inbox",
        "_message_broker",
        "_middleware_chain",
        "_publish_notifications",
        "_scoped",
    )

    def __init__(
        self,
        event_map: EventMap,
        container: Resolver,
        message_broker: MessageBroker | None = None,
        *,
        middleware_chain: MiddlewareChain | None = None,
        handle_notification_events: bool = False,
        inbox: type[InboxWriter] | None = None,
    ) -> None:
        self._event_map = event_map
        self._bindings = event_map.bindings
        self._inbox = None if inbox is None else Companions(inbox, wanted=INBOX_WANTED)
        self._publish_notifications = not handle_notification_events
        self._container = container
        self._scoped = container if isinstance(container, ScopedResolver) else None
        self._message_broker = message_broker
        self._middleware_chain = middleware_chain or None

    @property
    def event_map(self) -> EventMap:
        """The map this emitter looks handlers up in."""
        return self._event_map

    async def emit(self, event: IEvent) -> Sequence[IEvent]:
        """Deliver `event` and return the follow-up events its handlers raised.

        Every bound handler runs even if another fails; then the failures are raised
        (one as itself, several as an `ExceptionGroup`).
        """
        outcome = await self.emit_settled(event)
        raise_failures(outcome.failures, f"handling {type_name(type(event))}")
        return outcome.follow_ups

    async def emit_settled(self, event: IEvent) -> EmitOutcome:
        """Deliver `event`; return follow-ups and failures instead of raising."""
        if self._publish_notifications and _is_notification(event):
            return await self._publish(event)
        handler_types = self._bindings.get(type(event))
        if not handler_types:
            logger.warning("No event handler is bound to %s", type_name(type(event)))
            return _NOTHING
        # Most events raise nothing and fail nowhere: allocate only when one does.
        follow_ups: list[IEvent] | None = None
        failures: list[EventHandlingFailure] | None = None
        for handler_type in handler_types:
            try:
                raised = await self._run(handler_type, event)
            except Exception as error:  # noqa: BLE001 - isolated, reported by the caller
                failure = EventHandlingFailure(event, type_name(handler_type), error)
                failures = _extended(failures, (failure,))
                continue
            if raised:
                if not all_events(raised):
                    raised, wrong = non_events(raised, type_name(handler_type), event)
                    failures = _extended(failures, wrong)
                follow_ups = _extended(follow_ups, raised)
        if follow_ups is None and failures is None:
            return _NOTHING
        return EmitOutcome(follow_ups or (), failures or ())

    async def _run(self, binding: EventBinding, event: IEvent) -> Sequence[IEvent]:
        if self._inbox is not None:
            message_id = getattr(event, "event_id", None)
            if message_id is not None:  # events without an id (domain events) pass
                return await self._run_once(self._inbox, binding, event, str(message_id))
        handler: EventHandler[Any]
        release: Release | None = None
        if not isinstance(binding, type):  # not an ABC check: this runs for every event
            handler = await binding.open(self._container)
        elif self._scoped is not None:
            handler, release = await self._scoped.resolve_scoped(binding)
        else:
            handler = await self._container.resolve(binding)
        chain = self._middleware_chain
        # `_handle`, inlined: one coroutine less for every event.
        if release is None:
            await (handler.handle(event) if chain is None else chain.call(handler.handle, event))
        else:
            try:
                await (
                    handler.handle(event) if chain is None else chain.call(handler.handle, event)
                )
            except BaseException as error:
                await release(error)
                raise
            await release(None)
        return handler.events

    async def _run_once(
        self,
        inbox: Companions[InboxWriter],
        binding: EventBinding,
        event: IEvent,
        message_id: str,
    ) -> Sequence[IEvent]:
        if not isinstance(binding, type):
            msg = (
                f"{type_name(type(event))} is bound to {type_name(binding)} (a fallback), "
                "and the inbox records one handler's message in that handler's session; "
                "bind the handlers separately to use the inbox"
            )
            raise InvalidConfigurationError(msg)
        pair, release = await inbox.open(self._container, binding)
        handler: EventHandler[Any] = pair.handler
        # The handler's full name: each handler of an event is recorded (and so
        # processed) once, independently of the others.
        consumer = f"{binding.__module__}.{binding.__qualname__}"
        try:
            first = await pair.companion.record(message_id, consumer)
            if first:
                await self._handle(handler, event)
                await pair.companion.commit()
        except BaseException as error:
            if release is not None:
                await release(error)
            raise
        if release is not None:
            await release(None)
        if not first:
            logger.info(
                "%s skipped %s %s: the inbox records it as processed (a redelivery)",
                consumer,
                type_name(type(event)),
                message_id,
            )
            return ()
        return handler.events

    async def _handle(self, handler: EventHandler[Any], event: IEvent) -> None:
        if self._middleware_chain is None:
            await handler.handle(event)
        else:
            await self._middleware_chain.call(handler.handle, event)

    async def _publish(self, event: INotificationEvent[Any]) -> EmitOutcome:
        broker = self._message_broker
        broker_name = "message broker" if broker is None else type_name(type(broker))
        try:
            if self._message_broker is None:
                msg = (
                    f"cannot publish notification event {type_name(type(event))}: no "
                    "message broker is configured; pass message_broker= to bootstrap() "
                    "or EventEmitter()"
                )
                raise EventBrokerMissingError(msg)
            message = _message_type()(
                message_name=type(event).__name__,
                message_id=event.event_id,
                topic=event.topic,
                payload=event.to_dict(),
            )
            await self._message_broker.send_message(message)
        except Exception as error:  # noqa: BLE001 - isolated, reported by the caller
            return EmitOutcome((), (EventHandlingFailure(event, broker_name, error),))
        return _NOTHING
