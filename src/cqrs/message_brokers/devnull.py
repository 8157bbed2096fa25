"""A broker that drops every message."""

from cqrs._adapters.devnull import DevnullMessageBroker
from cqrs._public import claim

__all__ = ("DevnullMessageBroker",)

claim(__name__, globals(), __all__)
