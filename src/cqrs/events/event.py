"""Event classes: domain events and notification events."""

from cqrs._messages.events import (
    DCDomainEvent,
    DCEvent,
    DCNotificationEvent,
    IDomainEvent,
    IEvent,
    INotificationEvent,
    PydanticDomainEvent,
    PydanticEvent,
    PydanticNotificationEvent,
)
from cqrs._public import claim

Event = PydanticEvent
DomainEvent = PydanticDomainEvent
NotificationEvent = PydanticNotificationEvent

__all__ = (
    "DCDomainEvent",
    "DCEvent",
    "DCNotificationEvent",
    "DomainEvent",
    "Event",
    "IDomainEvent",
    "IEvent",
    "INotificationEvent",
    "NotificationEvent",
    "PydanticDomainEvent",
    "PydanticEvent",
    "PydanticNotificationEvent",
)

claim(__name__, globals(), __all__)
