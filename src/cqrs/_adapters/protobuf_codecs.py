"""Protobuf codecs (extra `protobuf`): notification events to protobuf bytes and back.

An event takes part by defining the two hooks python-cqrs events have: `proto(self)`,
returning the event as its generated protobuf message, and the class method
`from_proto(cls, message)`, building the event from one.

Everything here is duck-typed on those hooks and on the generated message's
`SerializeToString()` / `FromString()`: only `ProtobufValueDeserializer` imports
`google.protobuf` (its `json_format`), when it is built, so `import cqrs` never does.

Reading accepts the plain protobuf bytes of a message, and the Confluent Schema Registry
framing earlier python-cqrs 4.x Kafka producers wrote (a zero magic byte, the 4-byte
schema id and the message indexes before the message): a plain message never starts
with a zero byte (field number 0 does not exist), so the two cannot be confused.
Writing produces the plain bytes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar, cast, overload

import pydantic
from typing_extensions import Self

from cqrs._adapters.codecs import (
    Deserializable,
    DeserializeProtobufError,
    check_model,
    log_failure,
    raw_bytes,
)
from cqrs._errors import InvalidConfigurationError
from cqrs._introspect import type_name
from cqrs._messages.events import INotificationEvent

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = (
    "CONTENT_TYPE",
    "ProtoDeserializable",
    "ProtoMessage",
    "ProtobufDeserializer",
    "ProtobufEventSerializer",
    "ProtobufValueDeserializer",
    "SupportsFromProto",
    "SupportsProto",
    "protobuf_value_serializer",
)

CONTENT_TYPE: Final = "application/x-protobuf"

RawBytes = bytes | bytearray | memoryview


class ProtoMessage(Protocol):
    """A generated protobuf message class, as far as the codecs use it."""

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes:  # noqa: N802 - protobuf's name
        """The message's wire bytes."""
        ...

    @classmethod
    def FromString(cls, s: bytes, /) -> Self:  # noqa: N802 - protobuf's name
        """Parse the message from its wire bytes."""
        ...


_MessageT = TypeVar("_MessageT", bound=ProtoMessage)
_MessageT_contra = TypeVar("_MessageT_contra", bound=ProtoMessage, contravariant=True)
_EventT = TypeVar("_EventT")
_EventT_co = TypeVar("_EventT_co", covariant=True)
_ModelT = TypeVar("_ModelT", bound="Deserializable | pydantic.BaseModel")
_NotificationT = TypeVar("_NotificationT", bound="INotificationEvent[Any]")


class SupportsProto(Protocol):
    """An event that turns itself into its protobuf message: `event.proto()`."""

    def proto(self) -> ProtoMessage:
        """The event as its generated protobuf message."""
        ...


class SupportsFromProto(Protocol[_MessageT_contra, _EventT_co]):
    """An event class built from its protobuf message: `EventClass.from_proto(message)`.

    The event class itself matches this protocol (its `from_proto` is a class method):
    `SupportsFromProto[OrderPlacedProto, OrderPlaced]`.
    """

    def from_proto(self, proto: _MessageT_contra, /) -> _EventT_co:
        """Build the event from its generated protobuf message."""
        ...


class ProtoDeserializable(Protocol):
    """A class with a `from_proto` class method (python-cqrs's protocol)."""

    @classmethod
    def from_proto(cls, proto: Any) -> Self:  # noqa: ANN401 - python-cqrs's signature
        """Build an instance from its generated protobuf message."""
        ...


# -- writing ----------------------------------------------------------------------------


def _message_of(event: object) -> ProtoMessage:
    proto = getattr(event, "proto", None)
    if not callable(proto):
        msg = (
            f"{type_name(type(event))} has no proto(): define proto(self) on the event "
            "class, returning the event as its generated protobuf message"
        )
        raise NotImplementedError(msg)
    message: object = proto()
    if not callable(getattr(message, "SerializeToString", None)):
        msg = (
            f"{type_name(type(event))}.proto() returned a {type_name(type(message))}, "
            "not a protobuf message"
        )
        raise TypeError(msg)
    return cast("ProtoMessage", message)


def _serialize(message: ProtoMessage) -> bytes:
    # Deterministic: the same event gives the same bytes (map fields in key order).
    return bytes(message.SerializeToString(deterministic=True))


def protobuf_value_serializer(event: SupportsProto) -> bytes:
    """The protobuf bytes of `event.proto()` (the name earlier python-cqrs 4.x releases had).

    Those framed the bytes for the Confluent Schema Registry they connected to; these
    are the plain message bytes (no registry), which every protobuf reader, and the
    deserializers here, read. `ProtobufEventSerializer` is the codec python-cqrs 4.15 has.

    Raises:
        NotImplementedError: the event does not define `proto()`.
        TypeError: `proto()` did not return a protobuf message.
    """
    return _serialize(_message_of(event))


class ProtobufEventSerializer:
    """The protobuf codec for the notification event classes it maps (python-cqrs's).

    `proto_types` maps each event class to its generated message class. `serialize`
    writes `event.proto()` (checked to be of the mapped class); `deserialize` parses
    the mapped message class and calls the event class's `from_proto`. Both raise on
    failure (use `ProtobufDeserializer` where bad input must not raise).

    Example:
        >>> from google.protobuf import wrappers_pb2
        >>> import cqrs
        >>> class Tagged(cqrs.NotificationEvent[str], frozen=True):
        ...     def proto(self) -> wrappers_pb2.StringValue:
        ...         return wrappers_pb2.StringValue(value=self.payload)
        ...     @classmethod
        ...     def from_proto(cls, proto: wrappers_pb2.StringValue) -> "Tagged":
        ...         return cls(event_name="tagged", payload=proto.value)
        >>> codec = ProtobufEventSerializer({Tagged: wrappers_pb2.StringValue})
        >>> wire = codec.serialize(Tagged(event_name="tagged", payload="a"))
        >>> wire, codec.deserialize(wire, Tagged).payload
        (b'\\n\\x01a', 'a')
    """

    __slots__ = ("_proto_types",)

    content_type: str | None = CONTENT_TYPE
    """The MIME type of what `serialize` writes: `application/x-protobuf`."""

    def __init__(self, proto_types: Mapping[type[Any], type[ProtoMessage]]) -> None:
        checked: dict[type[Any], type[ProtoMessage]] = {}
        for event_type, message_type in proto_types.items():
            candidate = cast("object", event_type)  # untyped callers pass anything
            if not isinstance(candidate, type) or not callable(
                getattr(message_type, "FromString", None)
            ):
                msg = (
                    "ProtobufEventSerializer maps event classes to generated protobuf "
                    f"message classes, got {event_type!r}: {message_type!r}"
                )
                raise InvalidConfigurationError(msg)
            checked[event_type] = message_type
        self._proto_types = checked

    def __repr__(self) -> str:
        pairs = ", ".join(
            f"{type_name(event)}: {type_name(message)}"
            for event, message in self._proto_types.items()
        )
        return f"ProtobufEventSerializer({{{pairs}}})"

    def content_type_for(self, event: INotificationEvent[Any], /) -> str | None:  # noqa: ARG002
        """The MIME type of `event` serialized: `application/x-protobuf`."""
        return self.content_type

    def serialize(self, event: INotificationEvent[Any], /) -> bytes:
        """The protobuf bytes of `event.proto()`.

        Raises:
            TypeError: the event's class is not mapped, or `proto()` did not return the
                message class it is mapped to.
            NotImplementedError: the event does not define `proto()`.
        """
        expected = self._message_type(type(event))
        message = _message_of(event)
        if not isinstance(message, expected):
            msg = (
                f"{type_name(type(event))}.proto() returned a {type_name(type(message))}; "
                f"the event class is mapped to {type_name(expected)}"
            )
            raise TypeError(msg)
        return _serialize(message)

    def deserialize(self, payload: RawBytes, event_type: type[_NotificationT], /) -> _NotificationT:
        """Parse `payload` as the message `event_type` is mapped to, then `from_proto` it.

        Raises:
            TypeError: `event_type` is not mapped, or has no `from_proto`.
            google.protobuf.message.DecodeError: `payload` is not that message.
            ValueError: a broken Confluent frame.
        """
        message_type = self._message_type(event_type)
        from_proto = getattr(event_type, "from_proto", None)
        if not callable(from_proto):
            msg = f"{type_name(event_type)} has no from_proto() class method"
            raise TypeError(msg)
        message = message_type.FromString(_unframe(bytes(payload)))
        return cast("_NotificationT", from_proto(message))

    def _message_type(self, event_type: type[Any]) -> type[ProtoMessage]:
        message_type = self._proto_types.get(event_type)
        if message_type is None:
            known = ", ".join(type_name(t) for t in self._proto_types) or "none"
            msg = (
                f"ProtobufEventSerializer has no protobuf message class for "
                f"{type_name(event_type)}; mapped: {known}"
            )
            raise TypeError(msg)
        return message_type


# -- reading ----------------------------------------------------------------------------

_MAX_VARINT_BYTES: Final = 10


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 7 * _MAX_VARINT_BYTES, 7):
        if position >= len(data):
            msg = "the Confluent frame ends inside its message indexes"
            raise ValueError(msg)
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
    msg = "the Confluent frame has a message index longer than a varint"
    raise ValueError(msg)


def _read_zigzag(data: bytes, position: int) -> tuple[int, int]:
    value, position = _read_varint(data, position)
    return (value >> 1) ^ -(value & 1), position


_FRAME_HEADER: Final = 5  # the magic byte and the big-endian schema id


def _unframe(data: bytes) -> bytes:
    """The message bytes of `data`, without a Confluent Schema Registry frame if any."""
    if not data or data[0] != 0:
        return data
    if len(data) <= _FRAME_HEADER:
        msg = (
            f"{len(data)} bytes starting with a zero byte: neither a protobuf message "
            "nor a Confluent frame (magic byte, schema id, message indexes, message)"
        )
        raise ValueError(msg)
    count, position = _read_zigzag(data, _FRAME_HEADER)
    if count < 0 or count > len(data) - position:
        msg = f"the Confluent frame declares {count} message indexes"
        raise ValueError(msg)
    for _ in range(count):  # 0 stands for the single index [0]
        _, position = _read_zigzag(data, position)
    return data[position:]


def _failure(
    deserializer: str, model: type[Any], error: Exception, data: bytes
) -> DeserializeProtobufError:
    log_failure(deserializer, model, error)
    return DeserializeProtobufError(
        error_message=str(error), error_type=type(error), message_data=data
    )


def _check_message_type(deserializer: str, message_type: object) -> None:
    if not callable(getattr(message_type, "FromString", None)):
        msg = f"{deserializer} needs a generated protobuf message class, got {message_type!r}"
        raise TypeError(msg)


def _split_input(data: object) -> tuple[bytes, TypeError | None]:
    """The raw bytes to report, and the error for input that is not bytes-like."""
    raw = raw_bytes(data)
    if raw is not None:
        return raw, None
    error = TypeError(f"expected protobuf bytes, got {type(data).__name__}")
    if isinstance(data, str):  # reported as its UTF-8 bytes
        return data.encode("utf-8", "surrogatepass"), error
    return b"", error


class ProtobufDeserializer(Generic[_EventT]):
    """Turns protobuf bytes into an event with its class's `from_proto`; bad input is a value.

    `proto_type` is the generated message class the bytes are parsed as, and
    `model.from_proto(message)` builds the event (checked statically: `from_proto` must
    take that message class). Calling the deserializer returns the event; `None` for
    `None`; and for input that is not a valid event (bytes that are not the message, a
    broken frame, `from_proto` failing) a `DeserializeProtobufError` with the error and
    the raw bytes, logged at ERROR on the `"cqrs"` logger (a validation error without
    the input values). It never raises for bad input. Plain message bytes and
    Confluent-framed ones are both read.

    Raises:
        TypeError: when built with a `model` without `from_proto`, or a `proto_type`
            without `FromString`.
    """

    __slots__ = ("_model", "_proto_type")

    def __init__(
        self, model: SupportsFromProto[_MessageT, _EventT], proto_type: type[_MessageT]
    ) -> None:
        if not callable(getattr(model, "from_proto", None)):
            msg = f"ProtobufDeserializer needs a class with from_proto(), got {model!r}"
            raise TypeError(msg)
        _check_message_type("ProtobufDeserializer", proto_type)
        self._model: SupportsFromProto[Any, _EventT] = model
        self._proto_type: type[ProtoMessage] = proto_type

    def __repr__(self) -> str:
        return (
            f"ProtobufDeserializer(model={type_name(cast('type[Any]', self._model))}, "
            f"proto_type={type_name(self._proto_type)})"
        )

    @overload
    def __call__(self, data: None) -> None: ...

    @overload
    def __call__(self, data: RawBytes) -> _EventT | DeserializeProtobufError: ...

    @overload
    def __call__(self, data: RawBytes | None) -> _EventT | DeserializeProtobufError | None: ...

    def __call__(self, data: RawBytes | None) -> _EventT | DeserializeProtobufError | None:
        """Deserialize `data`: the event, `None` for `None`, or the error as a value."""
        if data is None:
            return None
        raw, wrong_input = _split_input(data)
        try:
            if wrong_input is not None:
                raise wrong_input
            message = self._proto_type.FromString(_unframe(raw))
            return self._model.from_proto(message)
        except Exception as error:  # noqa: BLE001 - bad input is reported as a value
            return _failure("ProtobufDeserializer", cast("type[Any]", self._model), error, raw)


class ProtobufValueDeserializer(Generic[_ModelT]):
    """Turns protobuf bytes into an event through its fields (earlier python-cqrs 4.x's name).

    The bytes are parsed as `protobuf_model`, its fields are read by their names in the
    `.proto` file (every scalar field, set or not; 64-bit integers as text, which
    validation converts) and `model` is built from them with its `from_dict` (a pydantic
    model without one with `model_validate`). Calling the deserializer returns the
    event; `None` for `None`; and for input that is not a valid event a
    `DeserializeProtobufError` with the error and the raw bytes, logged at ERROR on the
    `"cqrs"` logger (a validation error without the input values). It never raises for
    bad input. Plain message bytes and Confluent-framed ones (what earlier python-cqrs
    4.x Kafka producers wrote) are both read.

    Raises:
        TypeError: when built with a `model` without `from_dict` that is not a pydantic
            model, or a `protobuf_model` without `FromString`.
        ImportError: when built without the `protobuf` package (extra `protobuf`).
    """

    __slots__ = ("_model", "_protobuf_model", "_to_dict")

    def __init__(self, model: type[_ModelT], protobuf_model: type[ProtoMessage]) -> None:
        check_model("ProtobufValueDeserializer", model)
        _check_message_type("ProtobufValueDeserializer", protobuf_model)
        try:
            from google.protobuf import json_format
        except ImportError as error:  # pragma: no cover - the extra is installed in tests
            msg = (
                "ProtobufValueDeserializer needs the protobuf package: "
                'pip install "cqrs-typed[protobuf]"'
            )
            raise ImportError(msg) from error
        self._model = model
        self._protobuf_model = protobuf_model
        message_to_dict = cast("Callable[..., object]", json_format.MessageToDict)
        # Fields left at their default are read too (a 0 amount is not a missing one);
        # protobuf 5.26 renamed the option.
        defaults = (
            "always_print_fields_with_no_presence"
            if "always_print_fields_with_no_presence"
            in inspect.signature(message_to_dict).parameters
            else "including_default_value_fields"
        )
        options: dict[str, bool] = {defaults: True, "preserving_proto_field_name": True}

        def to_dict(message: ProtoMessage) -> object:
            # An object for most messages; a well-known type's JSON form may be a scalar.
            return message_to_dict(cast("Message", message), **options)

        self._to_dict: Callable[[ProtoMessage], object] = to_dict

    def __repr__(self) -> str:
        return (
            f"ProtobufValueDeserializer(model={type_name(self._model)}, "
            f"protobuf_model={type_name(self._protobuf_model)})"
        )

    @overload
    def __call__(self, msg: None) -> None: ...

    @overload
    def __call__(self, msg: RawBytes) -> _ModelT | DeserializeProtobufError: ...

    @overload
    def __call__(self, msg: RawBytes | None) -> _ModelT | DeserializeProtobufError | None: ...

    def __call__(self, msg: RawBytes | None) -> _ModelT | DeserializeProtobufError | None:
        """Deserialize `msg`: the event, `None` for `None`, or the error as a value."""
        if msg is None:
            return None
        raw, wrong_input = _split_input(msg)
        try:
            if wrong_input is not None:
                raise wrong_input
            message = self._protobuf_model.FromString(_unframe(raw))
            fields = self._to_dict(message)
            if not isinstance(fields, dict):  # a well-known type: a wrapper, a Value...
                text = f"{type_name(type(message))} has no fields to build the event from"
                raise TypeError(text)
            return self._build(cast("dict[str, Any]", fields))
        except Exception as error:  # noqa: BLE001 - bad input is reported as a value
            return _failure("ProtobufValueDeserializer", self._model, error, raw)

    def _build(self, fields: dict[str, Any]) -> _ModelT:
        model: type[Any] = self._model
        if hasattr(model, "from_dict"):
            return cast("_ModelT", model.from_dict(**fields))
        return cast("_ModelT", cast("type[pydantic.BaseModel]", model).model_validate(fields))
