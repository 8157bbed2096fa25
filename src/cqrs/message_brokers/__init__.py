"""Message brokers: where notification events go."""

from cqrs._adapters.devnull import DevnullMessageBroker
from cqrs._interfaces.broker import Message, MessageBroker
from cqrs._public import claim

__all__ = (
    "DevnullMessageBroker",
    "Message",
    "MessageBroker",
)

claim(__name__, globals(), __all__)
