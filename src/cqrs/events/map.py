"""The event map: handlers per event type."""

from cqrs._maps.event_map import EventMap
from cqrs._public import claim

__all__ = ("EventMap",)

claim(__name__, globals(), __all__)
