"""python-cqrs's RabbitMQ names over aio-pika: `AMQPPublisher`, its factory, `AMQPMessageBroker`.

Extra `rabbit` (aio-pika): `import cqrs` never imports this module.
`amqp_publisher_factory` takes python-cqrs 4.x's arguments and can be called anywhere,
in an event loop or not: nothing connects before the first publish. `AMQPMessageBroker`
publishes each `Message` in the wire format of `cqrs.message_brokers.wire`: the body is
the event's JSON, what python-cqrs sends; the `cqrs-*` headers go in the AMQP headers,
the message id, content type and timestamp in the AMQP properties too.

Like python-cqrs, a publish to exchange `e` for topic `t` declares a direct exchange
`e` (auto-delete) and a queue `t` bound to it with the routing key `t`, then publishes
with that key: both libraries declare the same things, so they share a server. Here the
declarations are made once per exchange and queue (again after a failed publish, in
case someone deleted them), and every publish is confirmed by the broker: a message no
queue takes (unroutable) is an error, not a silent loss.

A publish that fails or is not confirmed within `publish_timeout` seconds raises
`MessageBrokerError` (`PublishTimeoutError` for the timeout), naming the message and
the broker; the mediators report it like any event failure.
"""

from __future__ import annotations

import logging
import urllib.parse

import aio_pika
import aio_pika.abc
from aio_pika.pool import Pool

from cqrs.adapters._publishing import (
    DEFAULT_PUBLISH_TIMEOUT,
    check_publish_timeout,
    publish_within,
)
from cqrs.adapters.protocol import AMQPPublisher as AMQPPublisherProtocol
from cqrs.exceptions import InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import EncodedMessage, encode

__all__ = (
    "DEFAULT_PUBLISH_TIMEOUT",
    "AMQPMessageBroker",
    "AMQPPublisher",
    "amqp_publisher_factory",
)


async def _connect(url: str) -> aio_pika.abc.AbstractRobustConnection:
    return await aio_pika.connect_robust(url)


async def _open_channel(
    connections: Pool[aio_pika.abc.AbstractRobustConnection],
) -> aio_pika.abc.AbstractChannel:
    async with connections.acquire() as connection:
        # Confirmed publishes; a message returned as unroutable fails its publish.
        return await connection.channel(publisher_confirms=True, on_return_raises=True)


async def _declare(channel: aio_pika.abc.AbstractChannel, exchange: str, queue: str) -> None:
    # python-cqrs's declarations, spelled out: the same arguments on the same server agree.
    declared_queue = await channel.declare_queue(queue, durable=False, auto_delete=False)
    if exchange:
        declared_exchange = await channel.declare_exchange(
            exchange, aio_pika.ExchangeType.DIRECT, durable=False, auto_delete=True
        )
        await declared_queue.bind(declared_exchange, routing_key=queue)


def _without_credentials(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


class AMQPPublisher(AMQPPublisherProtocol):
    """Publishes to RabbitMQ over pooled aio-pika connections and confirmed channels.

    Nothing connects before the first `publish`; the pools are made then, in the
    running loop (use the publisher from that loop). `close()` closes them; a later
    `publish` connects again.

    Args:
        url: the AMQP URL, `amqp://user:password@host:5672/vhost`.
        max_connection_pool_size: connections at most (robust: they reconnect).
        max_channel_pool_size: channels at most, shared by the connections.

    Example:
        >>> publisher = AMQPPublisher("amqp://guest:guest@127.0.0.1:5672/")
        >>> publisher
        AMQPPublisher('amqp://127.0.0.1:5672/')
    """

    def __init__(
        self, url: str, max_connection_pool_size: int = 2, max_channel_pool_size: int = 10
    ) -> None:
        for name, size in (
            ("max_connection_pool_size", max_connection_pool_size),
            ("max_channel_pool_size", max_channel_pool_size),
        ):
            if size < 1:
                msg = f"{name} must be at least 1, got {size!r}"
                raise InvalidConfigurationError(msg)
        self._url = url
        self._max_connections = max_connection_pool_size
        self._max_channels = max_channel_pool_size
        self._connections: Pool[aio_pika.abc.AbstractRobustConnection] | None = None
        self._channels: Pool[aio_pika.abc.AbstractChannel] | None = None
        self._declared: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"AMQPPublisher({_without_credentials(self._url)!r})"

    async def publish(
        self, message: aio_pika.abc.AbstractMessage, queue_name: str, exchange_name: str
    ) -> None:
        """Publish `message` to `exchange_name` with the routing key `queue_name`.

        Declares the exchange and the queue first, the first time (see the module).
        An empty `exchange_name` is the default exchange: only the queue is declared.

        Args:
            message: the AMQP message.
            queue_name: the queue, and the routing key.
            exchange_name: the exchange.

        Raises:
            aio_pika.exceptions.AMQPError: the broker refused the message or is gone;
                `DeliveryError` when no queue took it.
        """
        key = (exchange_name, queue_name)
        async with self._channel_pool().acquire() as channel:
            try:
                if key not in self._declared:
                    await _declare(channel, exchange_name, queue_name)
                    self._declared.add(key)
                if exchange_name:
                    exchange = await channel.get_exchange(exchange_name, ensure=False)
                else:
                    exchange = channel.default_exchange
                await exchange.publish(message, routing_key=queue_name)
            except BaseException:
                self._declared.discard(key)  # declare again next time: it may be gone
                raise

    async def close(self) -> None:
        """Close the channels and the connections."""
        channels, connections = self._channels, self._connections
        self._channels = self._connections = None
        self._declared.clear()
        if channels is not None:
            await channels.close()
        if connections is not None:
            await connections.close()

    def _channel_pool(self) -> Pool[aio_pika.abc.AbstractChannel]:
        channels = self._channels
        if channels is None:
            connections = Pool[aio_pika.abc.AbstractRobustConnection](
                _connect, self._url, max_size=self._max_connections
            )
            channels = Pool[aio_pika.abc.AbstractChannel](
                _open_channel, connections, max_size=self._max_channels
            )
            self._connections, self._channels = connections, channels
        return channels


def amqp_publisher_factory(
    url: str, max_connection_pool_size: int = 2, max_channel_pool_size: int = 10
) -> AMQPPublisher:
    """Build an `AMQPPublisher` with python-cqrs 4.x's arguments; it connects on first use.

    Args:
        url: the AMQP URL, `amqp://user:password@host:5672/vhost`.
        max_connection_pool_size: connections at most.
        max_channel_pool_size: channels at most.

    Example:
        >>> amqp_publisher_factory("amqp://guest:guest@127.0.0.1:5672/", max_channel_pool_size=4)
        AMQPPublisher('amqp://127.0.0.1:5672/')
    """
    return AMQPPublisher(url, max_connection_pool_size, max_channel_pool_size)


def _amqp_message(wire: EncodedMessage) -> aio_pika.Message:
    headers: aio_pika.abc.HeadersType = dict(wire.headers)
    return aio_pika.Message(
        body=wire.body,
        headers=headers,
        content_type=wire.content_type,
        message_id=wire.message_id,
        timestamp=wire.timestamp,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


class AMQPMessageBroker:
    """A `MessageBroker` that publishes each message to RabbitMQ, routed by its topic.

    The message goes to `exchange_name` with the routing key (and queue) named like
    its topic, as python-cqrs publishes it: a persistent message whose body is the
    event's JSON, with the wire headers and the id, content type and timestamp set.

    Args:
        publisher: an `AMQPPublisher` (see `amqp_publisher_factory`), or any object
            with its `publish` method.
        exchange_name: the exchange every message goes to.
        pika_log_level: the level of the `aio_pika` and `aiormq` loggers, set here
            (python-cqrs does the same).
        publish_timeout: seconds one publish may take, confirmation included.

    Example:
        >>> publisher = amqp_publisher_factory("amqp://guest:guest@127.0.0.1:5672/")
        >>> AMQPMessageBroker(publisher, "orders", publish_timeout=5)
        AMQPMessageBroker(AMQPPublisher('amqp://127.0.0.1:5672/'), exchange 'orders')

        Then `bootstrap.bootstrap(..., message_broker=broker)`.
    """

    __slots__ = ("_description", "_exchange_name", "_publisher", "_timeout")

    def __init__(
        self,
        publisher: AMQPPublisherProtocol,
        exchange_name: str,
        pika_log_level: str | int = "ERROR",
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
    ) -> None:
        self._timeout = check_publish_timeout(publish_timeout)
        self._publisher = publisher
        self._exchange_name = exchange_name
        self._description = f"AMQPMessageBroker({publisher!r}, exchange {exchange_name!r})"
        logging.getLogger("aiormq").setLevel(pika_log_level)
        logging.getLogger("aio_pika").setLevel(pika_log_level)

    @property
    def publisher(self) -> AMQPPublisherProtocol:
        """The publisher the messages go through."""
        return self._publisher

    @property
    def exchange_name(self) -> str:
        """The exchange every message goes to."""
        return self._exchange_name

    @property
    def publish_timeout(self) -> float:
        """Seconds one publish may take, confirmation included."""
        return self._timeout

    def __repr__(self) -> str:
        return self._description

    async def send_message(self, message: Message, /) -> None:
        """Publish `message`; raise `MessageBrokerError` if RabbitMQ does not take it."""
        await publish_within(
            self._publish, encode(message), seconds=self._timeout, broker=self._description
        )

    async def _publish(self, wire: EncodedMessage) -> None:
        await self._publisher.publish(
            message=_amqp_message(wire), queue_name=wire.topic, exchange_name=self._exchange_name
        )
