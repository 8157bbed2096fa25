"""The event map: handlers per event type."""

from cqrs._maps.event_map import EventBinding, EventMap
from cqrs._public import claim

__all__ = ("EventBinding", "EventMap")

claim(__name__, globals(), __all__)
