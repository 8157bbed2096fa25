"""A broker that drops every message."""

from cqrs._adapters.devnull import MESSAGE_BUS, MESSAGE_BUS_LIMIT, DevnullMessageBroker
from cqrs._public import claim

__all__ = ("MESSAGE_BUS", "MESSAGE_BUS_LIMIT", "DevnullMessageBroker")

claim(__name__, globals(), __all__)
