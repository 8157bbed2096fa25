"""The event processor: events and follow-ups, sequential or parallel."""

from cqrs._dispatch.processor import EventProcessor
from cqrs._public import claim

__all__ = ("EventProcessor",)

claim(__name__, globals(), __all__)
