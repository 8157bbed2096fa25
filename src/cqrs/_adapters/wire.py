"""The wire format: one encoding of a `Message` for every broker, and the way back.

Version 1, the same on Kafka, RabbitMQ, NATS, Redis and MQTT (Redis has no headers:
FastStream carries both in its own envelope there):

- **body**: the UTF-8 JSON of `Message.payload`, that is the event's `to_dict()`; for a
  notification event `{"event_id", "event_timestamp", "event_name", "topic", "payload"}`.
  python-cqrs 4.x publishes exactly this body (and no headers), so each library reads
  the other's messages.
- **headers** (text): `content-type: application/json`; `cqrs-message-name`, the class
  name of the event (`Message.message_name`); `cqrs-message-id`, the event id;
  `cqrs-timestamp`, when the message was encoded (ISO 8601, UTC); `cqrs-wire-version: 1`.
  Brokers with native properties (RabbitMQ's `message_id`, `content_type`, `timestamp`)
  carry them there too. Readers ignore headers they do not know, which leaves room for a
  trace context (`traceparent`) later.

Reading a message back goes through a `MessageRegistry`, keyed by class: the
`cqrs-message-name` header names the class; a message without it (python-cqrs
publishes none) is matched by the `event_name` in its body, or goes to the only class
registered.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar, cast

import pydantic
import pydantic_core
from typing_extensions import Self

from cqrs._errors import InvalidConfigurationError, MessageDecodeError
from cqrs._interfaces.broker import Message
from cqrs._introspect import type_name
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = (
    "CONTENT_TYPE",
    "HEADER_MESSAGE_ID",
    "HEADER_MESSAGE_NAME",
    "HEADER_TIMESTAMP",
    "HEADER_WIRE_VERSION",
    "WIRE_VERSION",
    "EncodedMessage",
    "MessageRegistry",
    "encode",
    "header_text",
)

WIRE_VERSION: Final = "1"
CONTENT_TYPE: Final = "application/json"
HEADER_CONTENT_TYPE: Final = "content-type"
HEADER_MESSAGE_NAME: Final = "cqrs-message-name"
HEADER_MESSAGE_ID: Final = "cqrs-message-id"
HEADER_TIMESTAMP: Final = "cqrs-timestamp"
HEADER_WIRE_VERSION: Final = "cqrs-wire-version"


class _Decodable(Protocol):
    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self: ...  # noqa: ANN401 - the IEvent signature


# Events and requests (checked at registration); the protocol keeps `from_dict`'s Self.
_MessageT = TypeVar("_MessageT", bound=_Decodable)


@dataclasses.dataclass(frozen=True, slots=True)
class EncodedMessage:
    """A `Message` as bytes and text headers, ready for any broker's client."""

    topic: str
    body: bytes
    headers: Mapping[str, str]
    message_id: str
    message_name: str
    timestamp: datetime.datetime
    content_type: str = CONTENT_TYPE


def encode(message: Message, /) -> EncodedMessage:
    """Encode `message` in the wire format.

    Example:
        >>> from cqrs.message_brokers.protocol import Message
        >>> wire = encode(Message(message_name="Joined", topic="users", payload={"a": 1}))
        >>> wire.body, wire.headers["cqrs-message-name"], wire.headers["content-type"]
        (b'{"a":1}', 'Joined', 'application/json')
    """
    timestamp = datetime.datetime.now(datetime.timezone.utc)
    message_id = str(message.message_id)
    return EncodedMessage(
        topic=message.topic,
        body=pydantic_core.to_json(message.payload),
        headers={
            HEADER_CONTENT_TYPE: CONTENT_TYPE,
            HEADER_MESSAGE_NAME: message.message_name,
            HEADER_MESSAGE_ID: message_id,
            HEADER_TIMESTAMP: timestamp.isoformat(),
            HEADER_WIRE_VERSION: WIRE_VERSION,
        },
        message_id=message_id,
        message_name=message.message_name,
        timestamp=timestamp,
    )


def header_text(headers: Mapping[str, object] | None, /) -> dict[str, str]:
    """Headers as text: Kafka hands over bytes, other clients strings or numbers."""
    if not headers:
        return {}
    text: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(value, bytes | bytearray):
            text[key.lower()] = bytes(value).decode("utf-8", errors="replace")
        elif value is not None:
            text[key.lower()] = str(value)
    return text


class MessageRegistry(Generic[_MessageT]):
    """The classes messages read from a broker become, keyed by class.

    Each class is known by its class name (what `cqrs-message-name` carries); a
    notification event may also be found by the `event_name` in its body, for
    publishers that send no headers (python-cqrs).

    Example:
        >>> import cqrs
        >>> class Placed(cqrs.NotificationEvent[dict[str, int]]):
        ...     pass
        >>> registry = MessageRegistry(Placed)
        >>> event = registry.decode(b'{"event_name": "placed", "payload": {"n": 1}}')
        >>> type(event).__name__, event.payload
        ('Placed', {'n': 1})
    """

    __slots__ = ("_by_event_name", "_by_name", "_types")

    def __init__(self, *message_types: type[_MessageT]) -> None:
        self._types: dict[type[_MessageT], str] = {}
        self._by_name: dict[str, type[_MessageT]] = {}
        self._by_event_name: dict[str, type[_MessageT]] = {}
        for message_type in message_types:
            self.register(message_type)

    def register(
        self,
        message_type: type[_MessageT],
        /,
        *,
        name: str | None = None,
        event_name: str | None = None,
    ) -> None:
        """Register `message_type` under `name` (default: its class name).

        `event_name` also matches messages without a `cqrs-message-name` header whose
        body carries that `event_name`.
        """
        candidate = cast("object", message_type)  # untyped callers pass anything
        if not isinstance(candidate, type) or not issubclass(candidate, IEvent | IRequest):
            msg = (
                f"MessageRegistry.register() takes an event or request class, got {message_type!r}"
            )
            raise TypeError(msg)
        key = name if name is not None else message_type.__name__
        taken = self._by_name.get(key)
        if taken is not None and taken is not message_type:
            msg = (
                f"cannot register {type_name(message_type)} as {key!r}: "
                f"{type_name(taken)} is registered under that name; pass name=..."
            )
            raise InvalidConfigurationError(msg)
        self._types[message_type] = key
        self._by_name[key] = message_type
        if event_name is not None:
            self._by_event_name[event_name] = message_type

    def name_of(self, message_type: type[_MessageT], /) -> str:
        """The name `message_type` is registered under."""
        return self._types[message_type]

    def __contains__(self, message_type: object) -> bool:
        return any(message_type is known for known in self._types)

    def __iter__(self) -> Iterator[type[_MessageT]]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def class_for(self, headers: Mapping[str, str], payload: Mapping[str, Any]) -> type[_MessageT]:
        """The registered class a message with these headers and body becomes."""
        name = headers.get(HEADER_MESSAGE_NAME)
        if name is not None:
            found = self._by_name.get(name)
            if found is None:
                msg = f"no class is registered for message name {name!r}; {self._known()}"
                raise MessageDecodeError(msg)
            return found
        event_name = payload.get("event_name")
        if isinstance(event_name, str) and event_name in self._by_event_name:
            return self._by_event_name[event_name]
        if len(self._types) == 1:
            return next(iter(self._types))
        msg = (
            f"the message has no {HEADER_MESSAGE_NAME} header and its event_name "
            f"{event_name!r} is not registered; {self._known()}"
        )
        raise MessageDecodeError(msg)

    def decode(self, body: bytes | str, headers: Mapping[str, object] | None = None) -> _MessageT:
        """Decode a message body (and headers) into its registered class.

        Raises:
            MessageDecodeError: the body is not a JSON object, no registered class
                matches, or the data does not validate (the message names the class).
        """
        text_headers = header_text(headers)
        try:
            payload = pydantic_core.from_json(body)
        except ValueError as error:
            msg = f"the message body is not JSON: {error}"
            raise MessageDecodeError(msg) from None
        if not isinstance(payload, dict):
            msg = f"the message body is a JSON {type(payload).__name__}, not an object"
            raise MessageDecodeError(msg)
        fields = cast("dict[str, Any]", payload)  # the keys of a JSON object are strings
        message_type = self.class_for(text_headers, fields)
        try:
            return message_type.from_dict(**fields)
        except (pydantic.ValidationError, TypeError, ValueError) as error:
            msg = f"the message does not validate as {type_name(message_type)}: {error}"
            raise MessageDecodeError(msg) from None

    def _known(self) -> str:
        names = ", ".join(sorted(self._by_name)) or "none"
        return f"registered: {names}"
