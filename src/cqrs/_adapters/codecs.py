"""JSON codecs, the codec protocols, and the values deserializers return for bad input.

A deserializer sits where a consumer hands over the raw bytes of a message (FastStream's
`value_deserializer`, a callback of a broker client): it returns the typed event, or,
for input that is not a valid event, a `DeserializeJsonError` value carrying the error
and the raw data. It never raises for bad input, so one malformed message cannot stop a
consumer; the caller decides what to do with it (log it, dead-letter it, skip it).

A codec (`EventCodec`: `JsonEventSerializer`, `ProtobufEventSerializer`) turns a
notification event into bytes and back, raising on failure.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Generic, Protocol, TypeVar, cast, overload

import pydantic
import pydantic_core
from typing_extensions import Self

from cqrs._introspect import type_name
from cqrs._messages.events import INotificationEvent

__all__ = (
    "Deserializable",
    "DeserializeJsonError",
    "DeserializeProtobufError",
    "EventCodec",
    "EventSerializer",
    "JsonDeserializer",
    "JsonEventSerializer",
    "RawData",
    "check_model",
    "default_serializer",
    "log_failure",
    "raw_bytes",
)

logger = logging.getLogger("cqrs")

RawData = str | bytes | bytearray | memoryview
"""What a JSON deserializer takes: text, or the bytes a broker client hands over."""

_NotificationT = TypeVar("_NotificationT", bound="INotificationEvent[Any]")


class Deserializable(Protocol):
    """A class built from keyword arguments by `from_dict`: every cqrs event and request."""

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:  # noqa: ANN401 - the IEvent signature
        """Build an instance from its fields, validating them."""
        ...


_ModelT = TypeVar("_ModelT", bound="Deserializable | pydantic.BaseModel")


@dataclasses.dataclass(frozen=True)
class DeserializeJsonError:
    """What `JsonDeserializer` returns for input that is not a valid instance.

    Attributes:
        error_message: the error, as text (`str(error)`).
        error_type: the class of the error (`ValueError` for invalid JSON, `TypeError`
            for JSON that is not an object, `pydantic.ValidationError` for invalid fields).
        message_data: the raw data as it was given (`bytearray` and `memoryview` as
            bytes; `None` for input that is neither text nor bytes).
    """

    error_message: str
    error_type: type[Exception]
    message_data: str | bytes | None


@dataclasses.dataclass(frozen=True)
class DeserializeProtobufError:
    """What the protobuf deserializers return for input that is not a valid event.

    Attributes:
        error_message: the error, as text (`str(error)`).
        error_type: the class of the error (`google.protobuf.message.DecodeError` for
            bytes that are not the message, `ValueError` for a broken Confluent frame,
            what `from_proto` / `from_dict` raised for invalid fields).
        message_data: the raw bytes as they were given (text as its UTF-8 bytes).
    """

    error_message: str
    error_type: type[Exception]
    message_data: bytes


def log_failure(deserializer: str, model: type[Any], error: Exception) -> None:
    """Log at ERROR that a message could not be deserialized, without the message's data."""
    if isinstance(error, pydantic.ValidationError):
        # Its text quotes the input values: name the fields and the problems only.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or '(message)'}: {problem['msg']}"
            for problem in error.errors(include_url=False, include_input=False)
        )
        description = f"{error.error_count()} validation error(s): {problems}"
    else:
        description = str(error)
    logger.error(
        "%s could not deserialize a message into %s: %s: %s",
        deserializer,
        type_name(model),
        type(error).__name__,
        description,
    )


def check_model(deserializer: str, model: object) -> None:
    """Raise `TypeError` unless `model` has `from_dict` or is a pydantic model class."""
    if not callable(getattr(model, "from_dict", None)) and not (
        isinstance(model, type) and issubclass(model, pydantic.BaseModel)
    ):
        msg = (
            f"{deserializer} needs a class with a from_dict() class method (an event or "
            f"request) or a pydantic model, got {model!r}"
        )
        raise TypeError(msg)


def raw_bytes(data: object) -> bytes | None:
    """`data` as bytes if it is bytes-like (`None` otherwise); bytes are not copied."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray):
        return bytes(data)
    if isinstance(data, memoryview):
        return data.tobytes()
    return None


class JsonDeserializer(Generic[_ModelT]):
    """Turns JSON text or bytes into an instance of `model`; bad input becomes a value.

    `model` is an event or request class (built with its `from_dict`), or any pydantic
    model (validated with `model_validate_json`). Calling the deserializer returns the
    instance; `None` for `None` (a Kafka tombstone); and for input that is not a valid
    instance (invalid JSON, JSON that is not an object, fields that do not validate) a
    `DeserializeJsonError` with the error and the raw data, logged at ERROR on the
    `"cqrs"` logger (a validation error without the input values). It never raises for
    bad input.

    Raises:
        TypeError: when built with a class that has no `from_dict` and is not a
            pydantic model.

    Example:
        >>> import cqrs
        >>> class Placed(cqrs.NotificationEvent[dict[str, int]], frozen=True):
        ...     pass
        >>> deserializer = JsonDeserializer(model=Placed)
        >>> deserializer(b'{"event_name": "placed", "payload": {"n": 1}}').payload
        {'n': 1}
        >>> error = deserializer(b"not json")
        >>> error.error_type.__name__, error.message_data
        ('ValueError', b'not json')
    """

    __slots__ = ("_model",)

    def __init__(self, model: type[_ModelT]) -> None:
        check_model("JsonDeserializer", model)
        self._model = model

    @property
    def model(self) -> type[_ModelT]:
        """The class messages are turned into."""
        return self._model

    def __repr__(self) -> str:
        return f"JsonDeserializer(model={type_name(self._model)})"

    @overload
    def __call__(self, data: None) -> None: ...

    @overload
    def __call__(self, data: RawData) -> _ModelT | DeserializeJsonError: ...

    @overload
    def __call__(self, data: RawData | None) -> _ModelT | DeserializeJsonError | None: ...

    def __call__(self, data: RawData | None) -> _ModelT | DeserializeJsonError | None:
        """Deserialize `data`: the instance, `None` for `None`, or the error as a value."""
        if data is None:
            return None
        raw: str | bytes | None = data if isinstance(data, str) else raw_bytes(data)
        try:
            if raw is None:
                msg = f"expected JSON as str or bytes, got {type(data).__name__}"
                raise TypeError(msg)
            return self._build(raw)
        except Exception as error:  # noqa: BLE001 - bad input is reported as a value
            log_failure("JsonDeserializer", self._model, error)
            return DeserializeJsonError(
                error_message=str(error), error_type=type(error), message_data=raw
            )

    def _build(self, raw: str | bytes) -> _ModelT:
        model: type[Any] = self._model
        if not hasattr(model, "from_dict"):
            # A pydantic model that is not a cqrs message: pydantic reads the JSON itself.
            return cast("_ModelT", cast("type[pydantic.BaseModel]", model).model_validate_json(raw))
        return cast("_ModelT", model.from_dict(**_json_object(raw)))


def _json_object(raw: str | bytes) -> dict[str, Any]:
    fields = pydantic_core.from_json(raw)
    if not isinstance(fields, dict):
        msg = f"expected a JSON object, got a JSON {_json_kind(fields)}"
        raise TypeError(msg)
    return cast("dict[str, Any]", fields)  # the keys of a JSON object are strings


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null"


def default_serializer(message: object) -> bytes:
    """The JSON bytes of `message`: its `to_dict()` if it has one, else the object itself.

    A cqrs event or request becomes the JSON of its `to_dict()` (what the wire format
    carries); a pydantic model its JSON; anything else what `pydantic_core.to_json` makes
    of it (dicts, lists, UUIDs, datetimes, dataclasses).

    Example:
        >>> import cqrs
        >>> class Joined(cqrs.DomainEvent, frozen=True):
        ...     user_id: str
        >>> default_serializer(Joined(user_id="u1"))
        b'{"user_id":"u1"}'
    """
    to_dict = getattr(message, "to_dict", None)
    if callable(to_dict):
        return pydantic_core.to_json(to_dict())
    return pydantic_core.to_json(message)


class EventSerializer(Protocol):
    """Writes a notification event as bytes (python-cqrs's emit-side codec protocol)."""

    def serialize(self, event: INotificationEvent[Any], /) -> bytes:
        """The event as bytes."""
        ...

    def content_type_for(self, event: INotificationEvent[Any], /) -> str | None:
        """The MIME type of those bytes, or `None` for JSON (no header is added)."""
        ...


class EventCodec(EventSerializer, Protocol):
    """Writes a notification event as bytes and reads it back (python-cqrs's codec)."""

    def deserialize(self, payload: bytes, event_type: type[_NotificationT], /) -> _NotificationT:
        """Read an instance of `event_type` back from `payload`; raises on failure."""
        ...


class JsonEventSerializer:
    """The JSON codec: an event's `to_dict()` as JSON, and `from_dict` back.

    `serialize` writes what the wire format carries; `deserialize` raises on bad input
    (use `JsonDeserializer` where bad input must not raise). `content_type` is `None`.

    Example:
        >>> import cqrs
        >>> class Placed(cqrs.NotificationEvent[dict[str, int]], frozen=True):
        ...     pass
        >>> codec = JsonEventSerializer()
        >>> event = Placed(event_name="placed", payload={"n": 1})
        >>> codec.deserialize(codec.serialize(event), Placed) == event
        True
    """

    __slots__ = ()

    content_type: str | None = None
    """The MIME type of what `serialize` writes: `None`, JSON (no header is added)."""

    def __repr__(self) -> str:
        return "JsonEventSerializer()"

    def serialize(self, event: INotificationEvent[Any], /) -> bytes:
        """The JSON bytes of `event.to_dict()`."""
        return pydantic_core.to_json(event.to_dict())

    def content_type_for(self, event: INotificationEvent[Any], /) -> str | None:  # noqa: ARG002
        """`None`: JSON needs no content-type header."""
        return self.content_type

    def deserialize(self, payload: bytes, event_type: type[_NotificationT], /) -> _NotificationT:
        """`event_type.from_dict(...)` of the JSON object in `payload`.

        Raises:
            ValueError: `payload` is not JSON (`pydantic.ValidationError`, a `ValueError`,
                for fields that do not validate).
            TypeError: the JSON is not an object, or has fields the event does not.
        """
        return event_type.from_dict(**_json_object(payload))
