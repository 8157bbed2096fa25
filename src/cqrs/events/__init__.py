"""Events, their handlers, the event map and the emitter."""

from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import EventProcessor
from cqrs._interfaces.handlers import EventHandler
from cqrs._maps.event_map import EventMap
from cqrs._messages.events import (
    DCDomainEvent,
    DCEvent,
    DCNotificationEvent,
    DomainEvent,
    Event,
    IDomainEvent,
    IEvent,
    INotificationEvent,
    NotificationEvent,
    PydanticDomainEvent,
    PydanticEvent,
    PydanticNotificationEvent,
)
from cqrs._public import claim

__all__ = (
    "DCDomainEvent",
    "DCEvent",
    "DCNotificationEvent",
    "DomainEvent",
    "Event",
    "EventEmitter",
    "EventHandler",
    "EventMap",
    "EventProcessor",
    "IDomainEvent",
    "IEvent",
    "INotificationEvent",
    "NotificationEvent",
    "PydanticDomainEvent",
    "PydanticEvent",
    "PydanticNotificationEvent",
)

claim(__name__, globals(), __all__)
