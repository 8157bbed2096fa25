"""`AMQPMessageBroker` (extra `rabbit`): notification events to RabbitMQ, through aio-pika."""

from cqrs._public import claim
from cqrs.adapters.amqp import DEFAULT_PUBLISH_TIMEOUT, AMQPMessageBroker

__all__ = ("DEFAULT_PUBLISH_TIMEOUT", "AMQPMessageBroker")

claim(__name__, globals(), __all__)
