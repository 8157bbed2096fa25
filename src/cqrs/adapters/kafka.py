"""python-cqrs's Kafka names over aiokafka: `KafkaProducer`, its factory, `KafkaMessageBroker`.

Extra `kafka` (aiokafka and stamina): `import cqrs` never imports this module.
`kafka_producer_factory` takes python-cqrs 4.x's arguments and can be called anywhere,
in an event loop or not: the aiokafka producer is built and started by the first
`produce`, in the running loop. `KafkaMessageBroker` publishes each `Message` in the wire
format of `cqrs.message_brokers.wire` to the topic of the same name: the record value is
the event's JSON, what python-cqrs sends, and the record headers are the `cqrs-*` ones.

A publish that fails or is not acknowledged within `publish_timeout` seconds raises
`MessageBrokerError` (`PublishTimeoutError` for the timeout), naming the message and
the broker; the mediators report it like any event failure.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import ssl
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, Protocol, TypeAlias

import aiokafka  # type: ignore[import-untyped]  # aiokafka ships no type information
import pydantic_core
import stamina
from aiokafka import errors as kafka_errors  # pyright: ignore[reportMissingTypeStubs]  # as above

from cqrs.adapters._publishing import (
    DEFAULT_PUBLISH_TIMEOUT,
    check_publish_timeout,
    publish_within,
)
from cqrs.adapters.protocol import KafkaProducer as KafkaProducerProtocol
from cqrs.exceptions import InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import EncodedMessage, encode

__all__ = (
    "DEFAULT_PUBLISH_TIMEOUT",
    "KafkaMessageBroker",
    "KafkaProducer",
    "SaslMechanism",
    "SecurityProtocol",
    "Serializer",
    "kafka_producer_factory",
)

SecurityProtocol: TypeAlias = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
"""How the producer talks to the brokers."""

SaslMechanism: TypeAlias = Literal[
    "PLAIN", "GSSAPI", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"
]
"""How the producer authenticates over SASL."""

Serializer: TypeAlias = Callable[[Any], bytes | None]
"""Turns a record value that is not bytes into bytes (`None`: a tombstone)."""

# The errors after which a new attempt may succeed: the cluster was not reachable.
_RETRIED: Final[tuple[type[Exception], ...]] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
)


class _Client(Protocol):
    """The part of `aiokafka.AIOKafkaProducer` this module calls, typed."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        *,
        headers: Sequence[tuple[str, bytes]] | None = None,
    ) -> object: ...


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class _Settings:
    """Builds the `AIOKafkaProducer` of `kafka_producer_factory`, in the running loop."""

    dsn: str
    security_protocol: SecurityProtocol
    sasl_mechanism: SaslMechanism
    ssl_context: ssl.SSLContext | None
    user: str | None
    password: str | None

    def __call__(self) -> aiokafka.AIOKafkaProducer:
        return aiokafka.AIOKafkaProducer(
            bootstrap_servers=self.dsn,
            security_protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism,
            sasl_plain_username=self.user,
            sasl_plain_password=self.password,
            ssl_context=self.ssl_context,
        )


class KafkaProducer(KafkaProducerProtocol):
    """Sends records through an `aiokafka.AIOKafkaProducer`, started on first use.

    The first `produce` starts the producer (concurrent first calls start it once).
    A connection-type failure (`KafkaConnectionError`, `NodeNotReadyError`,
    `RequestTimedOutError`) is retried: `retry_count` attempts in all, `retry_delay`
    seconds apart. Use it from one event loop.

    Args:
        producer: an `AIOKafkaProducer`, or a function without arguments that builds
            one (called inside the running loop by the first `produce`). A given
            producer cannot be restarted after `stop()`; a built one is rebuilt.
        retry_count: attempts per record (python-cqrs's `retry_count`), at least 1.
        retry_delay: seconds between two attempts.
        value_serializer: turns a value that is not bytes into the record value
            (python-cqrs's `value_serializer`); default: its JSON. Bytes, what
            `KafkaMessageBroker` sends, are sent unchanged.

    Example:
        >>> import aiokafka
        >>> producer = KafkaProducer(lambda: aiokafka.AIOKafkaProducer(acks="all"))
        >>> producer
        KafkaProducer(AIOKafkaProducer)
    """

    def __init__(
        self,
        producer: aiokafka.AIOKafkaProducer | Callable[[], aiokafka.AIOKafkaProducer],
        retry_count: int = 3,
        retry_delay: float = 1,
        *,
        value_serializer: Serializer | None = None,
    ) -> None:
        if retry_count < 1:
            msg = f"retry_count is the number of attempts, at least 1, got {retry_count!r}"
            raise InvalidConfigurationError(msg)
        if not (retry_delay >= 0 and math.isfinite(retry_delay)):
            msg = f"retry_delay must be a number of seconds, 0 or more, got {retry_delay!r}"
            raise InvalidConfigurationError(msg)
        self._client: _Client | None
        self._build: Callable[[], _Client] | None
        if isinstance(producer, aiokafka.AIOKafkaProducer):
            self._client, self._build = producer, None
        else:
            self._client, self._build = None, producer
        self._retry_count = retry_count
        self._retry_delay = float(retry_delay)
        self._serializer = value_serializer
        self._started = False
        self._lock = asyncio.Lock()  # binds to a loop only when first contended

    def __repr__(self) -> str:
        if isinstance(self._build, _Settings):
            return f"KafkaProducer(bootstrap_servers={self._build.dsn!r})"
        return "KafkaProducer(AIOKafkaProducer)"

    async def produce(
        self, topic: str, message: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send `message` to `topic` and wait until the cluster has acknowledged it.

        Args:
            topic: the Kafka topic.
            message: the record value.
            headers: text headers, sent UTF-8 encoded.

        Raises:
            KafkaError: aiokafka's error, after the last attempt for a connection error.
            RuntimeError: a given `AIOKafkaProducer` was stopped.
        """
        value = self._value(message)
        record_headers = None
        if headers:
            record_headers = [(key, text.encode()) for key, text in headers.items()]
        async for attempt in stamina.retry_context(
            on=_RETRIED,
            attempts=self._retry_count,
            timeout=None,  # the caller bounds the whole publish (KafkaMessageBroker does)
            wait_initial=self._retry_delay,
            wait_max=self._retry_delay,
            wait_jitter=0,
            wait_exp_base=1,
        ):
            with attempt:
                client = await self._started_client()
                await client.send_and_wait(topic, value, headers=record_headers)

    async def stop(self) -> None:
        """Flush what is pending and close the connections.

        A producer built by the factory function starts again on the next `produce`.
        """
        async with self._lock:
            client = self._client
            if client is None:
                return
            self._client, self._started = None, False
            await client.stop()

    def _value(self, message: object) -> bytes | None:
        if isinstance(message, bytes | bytearray):
            return bytes(message)
        if self._serializer is not None:
            return self._serializer(message)
        return pydantic_core.to_json(message)

    async def _started_client(self) -> _Client:
        client = self._client
        if client is not None and self._started:
            return client
        async with self._lock:
            client = self._client
            if client is None:
                if self._build is None:
                    msg = "this KafkaProducer was stopped: an AIOKafkaProducer cannot restart"
                    raise RuntimeError(msg)
                client = self._client = self._build()
            if not self._started:
                # A failed start (no reachable broker) leaves the client unstarted and
                # reusable: aiokafka creates its tasks only once the bootstrap succeeded.
                await client.start()
                self._started = True
            return client


def kafka_producer_factory(
    dsn: str,
    security_protocol: SecurityProtocol = "PLAINTEXT",
    sasl_mechanism: SaslMechanism = "PLAIN",
    ssl_context: ssl.SSLContext | None = None,
    retry_count: int = 3,
    retry_delay: float = 1,
    user: str | None = None,
    password: str | None = None,
    value_serializer: Serializer | None = None,
) -> KafkaProducer:
    """Build a `KafkaProducer` with python-cqrs 4.x's arguments; it connects on first use.

    No event loop is needed (nor created): the aiokafka producer is built and started
    by the first `produce`, in the running loop.

    Args:
        dsn: the bootstrap servers, `"host:port"` or several separated by commas.
        security_protocol: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
        sasl_mechanism: the SASL mechanism, for the `SASL_*` protocols.
        ssl_context: the TLS context, for `SSL` and `SASL_SSL`.
        retry_count: attempts per record on a connection error, at least 1.
        retry_delay: seconds between two attempts.
        user: the SASL user name.
        password: the SASL password.
        value_serializer: turns a value that is not bytes into the record value.

    Example:
        >>> producer = kafka_producer_factory("127.0.0.1:9092", retry_count=5)
        >>> producer
        KafkaProducer(bootstrap_servers='127.0.0.1:9092')
    """
    settings = _Settings(dsn, security_protocol, sasl_mechanism, ssl_context, user, password)
    return KafkaProducer(settings, retry_count, retry_delay, value_serializer=value_serializer)


class KafkaMessageBroker:
    """A `MessageBroker` that publishes each message to the Kafka topic of its name.

    The record value is the wire body (the event's JSON, as python-cqrs sends it); the
    record headers are the wire headers.

    Args:
        producer: a `KafkaProducer` (see `kafka_producer_factory`), or any object with
            its `produce` method.
        aiokafka_log_level: the level of the `aiokafka` logger, set here (python-cqrs
            does the same): aiokafka logs every failed connection at ERROR.
        publish_timeout: seconds one publish may take, retries and acknowledgement
            included.

    Example:
        >>> broker = KafkaMessageBroker(kafka_producer_factory("127.0.0.1:9092"))
        >>> broker
        KafkaMessageBroker(KafkaProducer(bootstrap_servers='127.0.0.1:9092'))

        Then `bootstrap.bootstrap(..., message_broker=broker)`.
    """

    __slots__ = ("_description", "_producer", "_timeout")

    def __init__(
        self,
        producer: KafkaProducerProtocol,
        aiokafka_log_level: str | int = "ERROR",
        *,
        publish_timeout: float = DEFAULT_PUBLISH_TIMEOUT,
    ) -> None:
        self._timeout = check_publish_timeout(publish_timeout)
        self._producer = producer
        self._description = f"KafkaMessageBroker({producer!r})"
        logging.getLogger("aiokafka").setLevel(aiokafka_log_level)

    @property
    def publish_timeout(self) -> float:
        """Seconds one publish may take, retries and acknowledgement included."""
        return self._timeout

    def __repr__(self) -> str:
        return self._description

    async def send_message(self, message: Message, /) -> None:
        """Publish `message`; raise `MessageBrokerError` if Kafka does not take it."""
        await publish_within(
            self._publish, encode(message), seconds=self._timeout, broker=self._description
        )

    async def _publish(self, wire: EncodedMessage) -> None:
        await self._producer.produce(wire.topic, wire.body, headers=dict(wire.headers))
