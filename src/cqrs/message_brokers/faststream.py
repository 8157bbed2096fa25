"""`FastStreamMessageBroker` (extra `faststream`): notification events to any FastStream broker."""

from cqrs._public import claim
from cqrs.adapters.faststream import DEFAULT_PUBLISH_TIMEOUT, FastStreamMessageBroker, RedisTarget

__all__ = ("DEFAULT_PUBLISH_TIMEOUT", "FastStreamMessageBroker", "RedisTarget")

claim(__name__, globals(), __all__)
