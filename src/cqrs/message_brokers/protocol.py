"""The message broker protocol and its message."""

from cqrs._interfaces.broker import Message, MessageBroker
from cqrs._public import claim

__all__ = (
    "Message",
    "MessageBroker",
)

claim(__name__, globals(), __all__)
