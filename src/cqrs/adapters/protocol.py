"""What `KafkaMessageBroker` and `AMQPMessageBroker` need from their client: two protocols.

The python-cqrs path `cqrs.adapters.protocol`. `cqrs.adapters.kafka.KafkaProducer` and
`cqrs.adapters.amqp.AMQPPublisher` implement them over aiokafka and aio-pika; any object
with the same method fits too (a producer with its own settings, a test double), and the
type checkers check it where it is passed to the broker. Importing this module imports
no broker client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import aio_pika.abc

__all__ = ("AMQPPublisher", "KafkaProducer")


class KafkaProducer(Protocol):
    """Sends one record to Kafka and returns once the cluster has acknowledged it.

    Example:
        >>> class Recorder:
        ...     def __init__(self) -> None:
        ...         self.records: list[tuple[str, bytes]] = []
        ...     async def produce(
        ...         self, topic: str, message: bytes, headers: dict[str, str] | None = None
        ...     ) -> None:
        ...         self.records.append((topic, message))
        >>> producer: KafkaProducer = Recorder()
    """

    async def produce(
        self, topic: str, message: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Send `message` (the record value) with text `headers` to `topic`.

        Args:
            topic: the Kafka topic.
            message: the record value: the wire body, UTF-8 JSON.
            headers: text headers; each is sent UTF-8 encoded.
        """
        ...


class AMQPPublisher(Protocol):
    """Publishes one message to RabbitMQ and returns once the broker has confirmed it.

    Example:
        >>> import aio_pika.abc
        >>> class Recorder:
        ...     async def publish(
        ...         self, message: aio_pika.abc.AbstractMessage, queue_name: str, exchange_name: str
        ...     ) -> None:
        ...         pass
        >>> publisher: AMQPPublisher = Recorder()
    """

    async def publish(
        self, message: aio_pika.abc.AbstractMessage, queue_name: str, exchange_name: str
    ) -> None:
        """Publish `message` to `exchange_name`, routed to the queue `queue_name`.

        Args:
            message: the AMQP message (body, headers and properties).
            queue_name: the queue, which is also the routing key (the event's topic).
            exchange_name: the exchange.
        """
        ...
