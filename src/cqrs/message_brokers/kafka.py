"""`KafkaMessageBroker` (extra `kafka`): notification events to Kafka, through aiokafka."""

from cqrs._public import claim
from cqrs.adapters.kafka import DEFAULT_PUBLISH_TIMEOUT, KafkaMessageBroker

__all__ = ("DEFAULT_PUBLISH_TIMEOUT", "KafkaMessageBroker")

claim(__name__, globals(), __all__)
