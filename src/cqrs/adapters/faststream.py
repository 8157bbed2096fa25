"""`FastStreamMessageBroker`: publish notification events through any FastStream broker.

Extra `faststream` (and `rabbit`, `kafka`, `nats`, `redis` for each broker's client):
`import cqrs` never imports this module. It takes a FastStream broker the application
already runs (connected, or started by its `FastStream` app) and publishes each
`Message` in the wire format of `cqrs.message_brokers.wire` to the message's topic:

- `RabbitBroker`: routing key `t` on `exchange` (default: the default exchange, which
  routes to queue `t`), persistent, confirmed by the broker;
- `KafkaBroker` (aiokafka or confluent): topic `t`, acknowledged by the cluster;
- `NatsBroker`: subject `t`; with `stream=`, a JetStream publish the stream acknowledges;
- `RedisBroker`: channel `t` (`target="stream"`: stream `t`; `"list"`: list `t`);
- `MQTTBroker`: topic `t`, QoS 1 (the broker's PUBACK confirms it).

A publish that fails or is not confirmed within `publish_timeout` seconds raises
`MessageBrokerError` (`PublishTimeoutError` for the timeout), naming the message and
the broker; the mediators report it like any event failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, overload

from cqrs.adapters._publishing import (
    DEFAULT_PUBLISH_TIMEOUT,
    Publish,
    check_publish_timeout,
    publish_within,
)
from cqrs.exceptions import InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import EncodedMessage, encode

if TYPE_CHECKING:
    from faststream.confluent import KafkaBroker as ConfluentKafkaBroker
    from faststream.kafka import KafkaBroker
    from faststream.mqtt import MQTTBroker
    from faststream.nats import NatsBroker
    from faststream.rabbit import RabbitBroker, RabbitExchange
    from faststream.redis import RedisBroker

__all__ = ("DEFAULT_PUBLISH_TIMEOUT", "FastStreamMessageBroker", "RedisTarget")

_MQTT_AT_LEAST_ONCE: Final = 1  # zmqtt.QoS.AT_LEAST_ONCE, an IntEnum

RedisTarget = Literal["channel", "stream", "list"]
"""Where `FastStreamMessageBroker` publishes on Redis."""
_Publish = Publish


def _family(broker: object) -> str:
    # faststream.<family>.broker...: the family decides the publish call's shape.
    module = type(broker).__module__.split(".")
    if len(module) < 2 or module[0] != "faststream":  # noqa: PLR2004 - "faststream.<family>"
        msg = (
            f"FastStreamMessageBroker takes a FastStream broker (RabbitBroker, KafkaBroker, "
            f"NatsBroker, RedisBroker, MQTTBroker), got {type(broker).__qualname__}"
        )
        raise TypeError(msg)
    return module[1]


class FastStreamMessageBroker:
    """A `MessageBroker` over a FastStream broker.

    Args:
        broker: a FastStream broker; it must be connected (or started by its app)
            before the first event is published.
        publish_timeout: seconds one publish may take, confirmation included.
        exchange: RabbitMQ only: the exchange to publish to (default: the default
            exchange, which routes to the queue named like the topic).
        persist: RabbitMQ only: persistent delivery mode (survives a broker restart
            in a durable queue).
        stream: NATS only: publish to this JetStream stream and wait for its ack.
        target: Redis only: publish to a pub/sub channel, a stream or a list.

    Example (not run here: it needs a RabbitMQ server):

        broker = RabbitBroker("amqp://guest:guest@127.0.0.1:5672/")
        await broker.connect()
        mediator = bootstrap.bootstrap(
            di_container=container,
            commands_mapper=commands,
            message_broker=FastStreamMessageBroker(broker),
        )
    """

    __slots__ = ("_broker", "_description", "_publish", "_timeout")

    @overload
    def __init__(
        self,
        broker: RabbitBroker,
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
        exchange: RabbitExchange | str | None = None,
        persist: bool = True,
    ) -> None: ...
    @overload
    def __init__(
        self,
        broker: NatsBroker,
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
        stream: str | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        broker: RedisBroker,
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
        target: RedisTarget = "channel",
    ) -> None: ...
    @overload
    def __init__(
        self,
        broker: KafkaBroker | ConfluentKafkaBroker | MQTTBroker,
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
    ) -> None: ...
    def __init__(
        self,
        broker: RabbitBroker
        | NatsBroker
        | RedisBroker
        | KafkaBroker
        | ConfluentKafkaBroker
        | MQTTBroker,
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
        exchange: RabbitExchange | str | None = None,
        persist: bool = True,
        stream: str | None = None,
        target: RedisTarget = "channel",
    ) -> None:
        self._timeout = check_publish_timeout(publish_timeout)
        family = _family(broker)
        self._broker: Any = broker  # each family's publish() has its own signature
        self._description = type(broker).__qualname__
        publish: _Publish
        if family == "rabbit":
            publish = self._rabbit_publisher(exchange, persist=persist)
            if exchange is not None:
                name = exchange if isinstance(exchange, str) else exchange.name
                self._description += f" (exchange {name!r})"
        elif family == "nats":
            publish = self._nats_publisher(stream)
        elif family == "redis":
            if target not in {"channel", "stream", "list"}:
                msg = f"target must be 'channel', 'stream' or 'list', got {target!r}"
                raise InvalidConfigurationError(msg)
            publish = self._redis_publisher(target)
        elif family in {"kafka", "confluent"}:
            publish = self._plain_publisher({})
        elif family == "mqtt":
            # QoS 1: the publish returns once the broker's PUBACK confirmed it.
            publish = self._plain_publisher({"qos": _MQTT_AT_LEAST_ONCE})
        else:
            msg = f"FastStreamMessageBroker does not know FastStream's {family!r} brokers"
            raise TypeError(msg)
        self._publish = publish

    @property
    def publish_timeout(self) -> float:
        """Seconds one publish may take, confirmation included."""
        return self._timeout

    def __repr__(self) -> str:
        return f"FastStreamMessageBroker({self._description})"

    async def send_message(self, message: Message, /) -> None:
        """Publish `message`; raise `MessageBrokerError` if the broker does not take it."""
        await self.send_encoded(encode(message))

    async def send_encoded(self, wire: EncodedMessage, /) -> None:
        """Publish an already encoded message (a dead letter keeps its original body)."""
        await publish_within(self._publish, wire, seconds=self._timeout, broker=self._description)

    # One closure per family, chosen once: the publish path does no dispatch.

    def _rabbit_publisher(
        self, exchange: RabbitExchange | str | None, *, persist: bool
    ) -> _Publish:
        broker = self._broker

        async def publish(wire: EncodedMessage) -> object:
            return await broker.publish(
                wire.body,
                exchange=exchange,
                routing_key=wire.topic,
                headers=dict(wire.headers),
                content_type=wire.content_type,
                message_id=wire.message_id,
                correlation_id=wire.message_id,
                timestamp=wire.timestamp,
                persist=persist,
            )

        return publish

    def _nats_publisher(self, stream: str | None) -> _Publish:
        broker = self._broker
        timeout = self._timeout

        async def publish(wire: EncodedMessage) -> object:
            return await broker.publish(
                wire.body,
                wire.topic,
                headers=dict(wire.headers),
                correlation_id=wire.message_id,
                stream=stream,
                timeout=timeout,
            )

        return publish

    def _redis_publisher(self, target: RedisTarget) -> _Publish:
        broker = self._broker

        async def publish(wire: EncodedMessage) -> object:
            destination: dict[str, str] = {target: wire.topic}
            return await broker.publish(
                wire.body,
                headers=dict(wire.headers),
                correlation_id=wire.message_id,
                **destination,
            )

        return publish

    def _plain_publisher(self, options: dict[str, object]) -> _Publish:
        broker = self._broker

        async def publish(wire: EncodedMessage) -> object:
            return await broker.publish(
                wire.body,
                wire.topic,
                headers=dict(wire.headers),
                correlation_id=wire.message_id,
                **options,
            )

        return publish
