"""Codecs: JsonDeserializer, default_serializer and the protobuf pair (issue 10, item 7).

The protobuf message classes are built at run time from a descriptor, as protoc's
generated `_pb2` modules build theirs, so no protoc step is needed.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import subprocess
import sys
import uuid
from typing import Any

import pydantic
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2
from google.protobuf.message import DecodeError, Message
from typing_extensions import Self

import cqrs
from cqrs.deserializers import (
    DeserializeJsonError,
    DeserializeProtobufError,
    JsonDeserializer,
    ProtobufDeserializer,
    ProtobufValueDeserializer,
)
from cqrs.exceptions import InvalidConfigurationError
from cqrs.serializers import (
    EventCodec,
    EventSerializer,
    JsonEventSerializer,
    default_serializer,
    protobuf_value_serializer,
)
from cqrs.serializers.protobuf import ProtobufEventSerializer

# -- the message classes ------------------------------------------------------------------


def _build_messages() -> tuple[type[Message], type[Message]]:
    """`OrderPlacedProto` (the notification event's fields) and `OtherProto`."""
    string, int64 = (
        descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
        descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    )
    optional, repeated = (
        descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    file = descriptor_pb2.FileDescriptorProto(
        name="cqrs_tests/orders.proto", package="cqrs_tests", syntax="proto3"
    )
    placed = file.message_type.add(name="OrderPlacedProto")
    for number, name in enumerate(("event_id", "event_timestamp", "event_name", "topic"), 1):
        placed.field.add(name=name, number=number, type=string, label=optional)
    placed.field.add(
        name="payload",
        number=5,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".cqrs_tests.OrderPlacedProto.Payload",
        label=optional,
    )
    payload = placed.nested_type.add(name="Payload")
    payload.field.add(name="order_id", number=1, type=string, label=optional)
    payload.field.add(name="amount", number=2, type=int64, label=optional)
    payload.field.add(name="tags", number=3, type=string, label=repeated)
    other = file.message_type.add(name="OtherProto")
    other.field.add(name="note", number=1, type=string, label=optional)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("cqrs_tests.OrderPlacedProto")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("cqrs_tests.OtherProto")),
    )


OrderPlacedProto, OtherProto = _build_messages()


# -- the events ---------------------------------------------------------------------------


class Placed(cqrs.Response):
    order_id: str
    amount: int
    tags: list[str] = []


def _fill(message: Any, event: Any) -> Any:
    message.event_id = str(event.event_id)
    message.event_timestamp = event.event_timestamp.isoformat()
    message.event_name = event.event_name
    message.topic = event.topic
    message.payload.order_id = event.payload.order_id
    message.payload.amount = event.payload.amount
    message.payload.tags.extend(event.payload.tags)
    return message


def _fields(proto: Any) -> dict[str, Any]:
    return {
        "event_id": uuid.UUID(proto.event_id),
        "event_timestamp": datetime.datetime.fromisoformat(proto.event_timestamp),
        "event_name": proto.event_name,
        "topic": proto.topic,
    }


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    def proto(self) -> Any:
        return _fill(OrderPlacedProto(), self)

    @classmethod
    def from_proto(cls, proto: Any) -> Self:
        payload = Placed(
            order_id=proto.payload.order_id,
            amount=proto.payload.amount,
            tags=list(proto.payload.tags),
        )
        return cls(**_fields(proto), payload=payload)


@dataclasses.dataclass(frozen=True)
class Shipped:
    order_id: str
    amount: int
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderShipped(cqrs.DCNotificationEvent[Shipped]):
    def proto(self) -> Any:
        return _fill(OrderPlacedProto(), self)

    @classmethod
    def from_proto(cls, proto: Any) -> Self:
        payload = Shipped(proto.payload.order_id, proto.payload.amount, list(proto.payload.tags))
        return cls(**_fields(proto), payload=payload)


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: str


@dataclasses.dataclass(frozen=True)
class UserLeft(cqrs.DCDomainEvent):
    user_id: str


class PlainModel(pydantic.BaseModel):
    n: int


class Broken(cqrs.DomainEvent, frozen=True):
    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        msg = "from_dict failed"
        raise RuntimeError(msg)


def _placed(**changes: Any) -> OrderPlaced:
    payload = Placed(order_id="o-1", amount=5, tags=["a", "b"])
    return OrderPlaced(event_name="order_placed", topic="orders", payload=payload, **changes)


def _shipped() -> OrderShipped:
    payload = Shipped(order_id="o-1", amount=5, tags=["a"])
    return OrderShipped(event_name="order_shipped", topic="orders", payload=payload)


# -- JSON: round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("make", [_placed, _shipped], ids=["pydantic", "dataclass"])
def test_json_round_trip_of_a_notification_event_with_a_payload(make: Any) -> None:
    event = make()

    restored = JsonDeserializer(model=type(event))(default_serializer(event))

    assert restored == event
    assert type(restored.payload) is type(event.payload)
    assert isinstance(restored.event_id, uuid.UUID)
    assert isinstance(restored.event_timestamp, datetime.datetime)


@pytest.mark.parametrize("event", [UserJoined(user_id="u1"), UserLeft(user_id="u1")])
def test_json_round_trip_of_domain_events(event: Any) -> None:
    assert JsonDeserializer(type(event))(default_serializer(event)) == event


@pytest.mark.parametrize(
    "convert",
    [bytes, bytearray, memoryview, lambda b: b.decode()],
    ids=["bytes", "bytearray", "memoryview", "str"],
)
def test_json_reads_text_and_every_kind_of_bytes(convert: Any) -> None:
    event = _placed()

    assert JsonDeserializer(OrderPlaced)(convert(default_serializer(event))) == event


def test_json_reads_what_python_cqrs_publishes() -> None:
    # python-cqrs 4.x: the to_dict() of a pydantic event, naive local time, as orjson dumps it.
    body = json.dumps(
        {
            "event_id": "82a0b10e-1b3d-4c3c-9bdd-3934f8f824c2",
            "event_timestamp": "2024-03-06T12:11:35.103792",
            "event_name": "order_placed",
            "topic": "orders",
            "payload": {"order_id": "o-1", "amount": 5},
        }
    ).encode()

    event = JsonDeserializer(OrderPlaced)(body)

    assert isinstance(event, OrderPlaced)
    assert event.event_id == uuid.UUID("82a0b10e-1b3d-4c3c-9bdd-3934f8f824c2")
    assert event.payload == Placed(order_id="o-1", amount=5)


def test_json_reads_a_pydantic_model_without_from_dict() -> None:
    assert JsonDeserializer(PlainModel)(b'{"n": 3}') == PlainModel(n=3)


def test_json_none_is_none() -> None:
    assert JsonDeserializer(OrderPlaced)(None) is None


def test_default_serializer_writes_the_to_dict_json() -> None:
    event = _shipped()

    assert json.loads(default_serializer(event)) == json.loads(
        pydantic.TypeAdapter(dict[str, Any]).dump_json(event.to_dict())
    )
    placed = _placed()
    assert json.loads(default_serializer(placed)) == placed.to_dict()
    assert default_serializer({"a": [1]}) == b'{"a":[1]}'


# -- JSON: bad input ------------------------------------------------------------------------

BAD_JSON: list[tuple[str, str | bytes, type[Exception]]] = [
    ("not json", b"not json", ValueError),
    ("empty", b"", ValueError),
    ("truncated", b'{"event_name": "x"', ValueError),
    ("invalid utf-8", b'{"event_name": "\xff"}', ValueError),
    ("array", b"[1, 2]", TypeError),
    ("string", b'"text"', TypeError),
    ("number", "42", TypeError),
    ("null", "null", TypeError),
    ("boolean", b"true", TypeError),
]


@pytest.mark.parametrize(("model", "valid"), [(OrderPlaced, _placed), (OrderShipped, _shipped)])
@pytest.mark.parametrize(
    ("data", "error_type"),
    [(data, error_type) for _, data, error_type in BAD_JSON],
    ids=[name for name, _, _ in BAD_JSON],
)
def test_json_bad_input_is_returned_as_an_error_with_the_raw_data(
    model: Any, valid: Any, data: str | bytes, error_type: type[Exception]
) -> None:
    result = JsonDeserializer(model)(data)

    assert isinstance(result, DeserializeJsonError)
    assert result.message_data == data
    assert type(result.message_data) is type(data)
    assert issubclass(result.error_type, error_type)
    assert result.error_message


def _without(field: str) -> bytes:
    fields = json.loads(default_serializer(_placed()))
    del fields[field]
    return json.dumps(fields).encode()


def _with(**changes: Any) -> bytes:
    fields = json.loads(default_serializer(_placed()))
    fields.update(changes)
    return json.dumps(fields).encode()


INVALID_FIELDS = [
    ("missing event_name", _without("event_name")),
    ("missing payload", _without("payload")),
    ("payload of the wrong type", _with(payload={"order_id": "o-1", "amount": "many"})),
    ("payload not an object", _with(payload=[1])),
    ("bad event_id", _with(event_id="not-a-uuid")),
    ("bad timestamp", _with(event_timestamp="yesterday")),
]


@pytest.mark.parametrize("model", [OrderPlaced, OrderShipped])
@pytest.mark.parametrize("data", [d for _, d in INVALID_FIELDS], ids=[n for n, _ in INVALID_FIELDS])
def test_json_invalid_fields_are_returned_as_an_error(model: Any, data: bytes) -> None:
    result = JsonDeserializer(model)(data)

    assert isinstance(result, DeserializeJsonError)
    assert result.message_data == data
    assert issubclass(result.error_type, ValueError | TypeError)
    assert result.error_message


def test_json_a_pydantic_validation_error_keeps_its_type() -> None:
    result = JsonDeserializer(OrderPlaced)(_without("event_name"))

    assert isinstance(result, DeserializeJsonError)
    assert result.error_type is pydantic.ValidationError
    assert "event_name" in result.error_message


def test_json_an_unknown_field_of_a_dataclass_event_is_an_error() -> None:
    data = _with(unexpected=1)

    result = JsonDeserializer(OrderShipped)(data)

    assert isinstance(result, DeserializeJsonError)
    assert result.error_type is TypeError
    assert "unexpected" in result.error_message


def test_json_an_invalid_pydantic_model_without_from_dict_is_an_error() -> None:
    result = JsonDeserializer(PlainModel)(b'{"n": "x"}')

    assert isinstance(result, DeserializeJsonError)
    assert result.error_type is pydantic.ValidationError
    assert result.message_data == b'{"n": "x"}'


def test_json_any_error_of_from_dict_is_returned_not_raised() -> None:
    result = JsonDeserializer(Broken)(b"{}")

    assert isinstance(result, DeserializeJsonError)
    assert result.error_type is RuntimeError
    assert result.error_message == "from_dict failed"


@pytest.mark.parametrize("data", [bytearray(b"[1]"), memoryview(b"[1]")])
def test_json_raw_bytes_like_input_is_reported_as_bytes(data: Any) -> None:
    result = JsonDeserializer(OrderPlaced)(data)

    assert isinstance(result, DeserializeJsonError)
    assert result.message_data == b"[1]"
    assert type(result.message_data) is bytes


def test_json_input_that_is_not_text_or_bytes_is_an_error() -> None:
    result = JsonDeserializer(OrderPlaced)(42)  # type: ignore[call-overload]

    assert isinstance(result, DeserializeJsonError)
    assert result.error_type is TypeError
    assert result.message_data is None


def test_json_a_bad_message_is_logged_without_its_data(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="cqrs"):
        JsonDeserializer(OrderPlaced)(b'{"secret": "s3cr3t"}')

    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "OrderPlaced" in record.getMessage()
    assert "s3cr3t" not in record.getMessage()


def test_deserialize_json_error_is_a_frozen_value() -> None:
    error = DeserializeJsonError(error_message="m", error_type=ValueError, message_data=b"x")

    with pytest.raises(dataclasses.FrozenInstanceError):
        error.error_message = "other"  # type: ignore[misc]
    assert error == DeserializeJsonError(
        error_message="m", error_type=ValueError, message_data=b"x"
    )


class NotAModel:
    pass


def test_json_deserializer_refuses_a_class_it_cannot_build() -> None:
    with pytest.raises(TypeError, match="from_dict"):
        JsonDeserializer(NotAModel)  # type: ignore[type-var]


def test_protobuf_deserializers_refuse_classes_they_cannot_use() -> None:
    with pytest.raises(TypeError, match="from_proto"):
        ProtobufDeserializer(UserJoined, OrderPlacedProto)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="protobuf message class"):
        ProtobufDeserializer(OrderPlaced, dict)  # type: ignore[misc]
    with pytest.raises(TypeError, match="from_dict"):
        ProtobufValueDeserializer(NotAModel, OrderPlacedProto)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="protobuf message class"):
        ProtobufValueDeserializer(OrderPlaced, dict)  # type: ignore[arg-type]


def test_json_deserializer_repr_and_model() -> None:
    deserializer = JsonDeserializer(model=OrderPlaced)

    assert deserializer.model is OrderPlaced
    assert repr(deserializer) == "JsonDeserializer(model=OrderPlaced)"


# -- python-cqrs import paths ---------------------------------------------------------------


def test_python_cqrs_import_paths() -> None:
    import cqrs.deserializers
    import cqrs.deserializers.exceptions
    import cqrs.deserializers.json
    import cqrs.deserializers.protobuf
    import cqrs.serializers
    import cqrs.serializers.default
    import cqrs.serializers.json
    import cqrs.serializers.protobuf
    import cqrs.serializers.protocol

    assert cqrs.deserializers.json.JsonDeserializer is JsonDeserializer
    assert cqrs.deserializers.json.DeserializeJsonError is DeserializeJsonError
    assert cqrs.deserializers.exceptions.DeserializeJsonError is DeserializeJsonError
    assert cqrs.deserializers.exceptions.DeserializeProtobufError is DeserializeProtobufError
    assert cqrs.deserializers.protobuf.ProtobufValueDeserializer is ProtobufValueDeserializer
    assert cqrs.deserializers.protobuf.ProtobufDeserializer is ProtobufDeserializer
    assert cqrs.deserializers.protobuf.DeserializeProtobufError is DeserializeProtobufError
    assert cqrs.serializers.default.default_serializer is default_serializer
    assert cqrs.serializers.protobuf.protobuf_value_serializer is protobuf_value_serializer
    assert cqrs.serializers.ProtobufEventSerializer is ProtobufEventSerializer
    assert cqrs.serializers.json.JsonEventSerializer is JsonEventSerializer
    assert cqrs.serializers.protocol.EventCodec is EventCodec
    assert cqrs.serializers.protocol.EventSerializer is EventSerializer


def test_python_cqrs_top_level_names() -> None:
    assert cqrs.EventCodec is EventCodec
    assert cqrs.EventSerializer is EventSerializer
    assert cqrs.JsonEventSerializer is JsonEventSerializer
    assert cqrs.ProtobufEventSerializer is ProtobufEventSerializer
    assert cqrs.ProtobufDeserializer is ProtobufDeserializer
    assert cqrs.DeserializeProtobufError is DeserializeProtobufError


def test_importing_the_codecs_imports_no_protobuf() -> None:
    code = (
        "import sys, cqrs, cqrs.deserializers, cqrs.deserializers.protobuf, "
        "cqrs.serializers, cqrs.serializers.protobuf; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'google'))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"


# -- protobuf: writing ------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_placed, _shipped], ids=["pydantic", "dataclass"])
def test_protobuf_value_serializer_writes_the_proto_bytes(make: Any) -> None:
    event = make()

    data = protobuf_value_serializer(event)

    assert data == event.proto().SerializeToString(deterministic=True)
    parsed: Any = OrderPlacedProto.FromString(data)
    assert parsed.payload.order_id == "o-1"
    assert parsed.event_id == str(event.event_id)


def test_protobuf_serializer_of_an_event_without_proto_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match=r"UserJoined.*proto\(\)"):
        protobuf_value_serializer(UserJoined(user_id="u1"))  # type: ignore[arg-type]


def test_protobuf_serializer_of_a_proto_that_is_no_message_is_a_type_error() -> None:
    class Odd(cqrs.DomainEvent, frozen=True):
        def proto(self) -> Any:
            return {"not": "a message"}

    with pytest.raises(TypeError, match="not a protobuf message"):
        protobuf_value_serializer(Odd())


# -- protobuf: ProtobufDeserializer (from_proto) ---------------------------------------------


@pytest.mark.parametrize("make", [_placed, _shipped], ids=["pydantic", "dataclass"])
def test_protobuf_round_trip_through_from_proto(make: Any) -> None:
    event = make()

    restored = ProtobufDeserializer(type(event), OrderPlacedProto)(protobuf_value_serializer(event))

    assert restored == event


def _frame(message: bytes, indexes: bytes = b"\x00", schema_id: int = 42) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + indexes + message


@pytest.mark.parametrize(
    "indexes",
    [b"\x00", b"\x02\x02", b"\x04\x02\x04"],
    ids=["first message", "index [1]", "indexes [1, 2]"],
)
def test_protobuf_reads_confluent_framed_messages(indexes: bytes) -> None:
    event = _placed()

    data = _frame(protobuf_value_serializer(event), indexes)

    assert ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(data) == event
    assert ProtobufValueDeserializer(OrderPlaced, OrderPlacedProto)(data) == event


@pytest.mark.parametrize("convert", [bytes, bytearray, memoryview])
def test_protobuf_reads_every_kind_of_bytes(convert: Any) -> None:
    event = _placed()

    data = convert(protobuf_value_serializer(event))

    assert ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(data) == event


def test_protobuf_none_is_none() -> None:
    assert ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(None) is None
    assert ProtobufValueDeserializer(OrderPlaced, OrderPlacedProto)(None) is None


BAD_PROTOBUF: list[tuple[str, bytes, type[Exception]]] = [
    ("garbage", b"\xff\xff\xff", DecodeError),
    ("truncated field", b"\x0a\x05ab", DecodeError),
    ("invalid utf-8 string", b"\x1a\x02\xff\xfe", DecodeError),
    ("frame too short", b"\x00\x00\x00\x00\x2a", ValueError),
    ("frame without indexes", b"\x00\x00\x00\x00\x2a\x80", ValueError),
    ("frame with too many indexes", b"\x00\x00\x00\x00\x2a\x7e", ValueError),
    ("frame with a negative count", b"\x00\x00\x00\x00\x2a\x01", ValueError),
    ("frame with a broken message", _frame(b"\xff\xff"), DecodeError),
]


@pytest.mark.parametrize(
    ("data", "error_type"),
    [(data, error_type) for _, data, error_type in BAD_PROTOBUF],
    ids=[name for name, _, _ in BAD_PROTOBUF],
)
@pytest.mark.parametrize("kind", ["from_proto", "fields"])
def test_protobuf_bad_input_is_returned_as_an_error_with_the_raw_data(
    kind: str, data: bytes, error_type: type[Exception]
) -> None:
    deserializer: Any = (
        ProtobufDeserializer(OrderPlaced, OrderPlacedProto)
        if kind == "from_proto"
        else ProtobufValueDeserializer(model=OrderPlaced, protobuf_model=OrderPlacedProto)
    )

    result = deserializer(data)

    assert isinstance(result, DeserializeProtobufError)
    assert result.message_data == data
    assert issubclass(result.error_type, error_type)
    assert result.error_message


def test_protobuf_a_failing_from_proto_is_returned_as_an_error() -> None:
    # An empty message parses (every field at its default); from_proto then fails.
    result = ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(b"")

    assert isinstance(result, DeserializeProtobufError)
    assert result.error_type is ValueError  # uuid.UUID("")
    assert result.message_data == b""


def test_protobuf_another_message_that_from_proto_cannot_read_is_an_error() -> None:
    data = OtherProto(note="hello").SerializeToString()  # type: ignore[call-arg]

    result = ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(data)

    assert isinstance(result, DeserializeProtobufError)
    assert result.message_data == data


def test_protobuf_text_input_is_an_error_carrying_its_bytes() -> None:
    result = ProtobufDeserializer(OrderPlaced, OrderPlacedProto)("text")  # type: ignore[call-overload]

    assert isinstance(result, DeserializeProtobufError)
    assert result.error_type is TypeError
    assert result.message_data == b"text"


def test_protobuf_a_bad_message_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="cqrs"):
        ProtobufDeserializer(OrderPlaced, OrderPlacedProto)(b"\xff")

    (record,) = caplog.records
    assert "ProtobufDeserializer" in record.getMessage()
    assert "OrderPlaced" in record.getMessage()


# -- protobuf: ProtobufValueDeserializer (fields) ---------------------------------------------


@pytest.mark.parametrize("make", [_placed, _shipped], ids=["pydantic", "dataclass"])
def test_protobuf_value_deserializer_round_trip_through_the_fields(make: Any) -> None:
    event = make()

    restored = ProtobufValueDeserializer(model=type(event), protobuf_model=OrderPlacedProto)(
        protobuf_value_serializer(event)
    )

    assert restored == event


def test_protobuf_value_deserializer_keeps_fields_at_their_default() -> None:
    event = OrderPlaced(event_name="", topic="", payload=Placed(order_id="", amount=0))

    restored = ProtobufValueDeserializer(OrderPlaced, OrderPlacedProto)(
        protobuf_value_serializer(event)
    )

    assert restored == event


def test_protobuf_value_deserializer_works_with_protobuf_before_5_26(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # protobuf < 5.26 (python-cqrs allows 4.25) names the option including_default_value_fields.
    from google.protobuf import json_format

    real = json_format.MessageToDict

    def old_message_to_dict(
        message: Any,
        including_default_value_fields: bool = False,
        preserving_proto_field_name: bool = False,
    ) -> Any:
        return real(
            message,
            always_print_fields_with_no_presence=including_default_value_fields,
            preserving_proto_field_name=preserving_proto_field_name,
        )

    monkeypatch.setattr(json_format, "MessageToDict", old_message_to_dict)
    event = OrderPlaced(event_name="", topic="", payload=Placed(order_id="", amount=0))

    restored = ProtobufValueDeserializer(OrderPlaced, OrderPlacedProto)(
        protobuf_value_serializer(event)
    )

    assert restored == event


def test_protobuf_value_deserializer_reads_a_pydantic_model_without_from_dict() -> None:
    data = OtherProto(note="hello").SerializeToString()  # type: ignore[call-arg]

    class Note(pydantic.BaseModel):
        note: str

    assert ProtobufValueDeserializer(Note, OtherProto)(data) == Note(note="hello")


def test_protobuf_value_deserializer_of_a_message_without_fields_is_an_error() -> None:
    # A well-known wrapper's JSON form is its bare value, not an object of fields.
    data = wrappers_pb2.Int64Value(value=7).SerializeToString()

    result = ProtobufValueDeserializer(PlainModel, wrappers_pb2.Int64Value)(data)

    assert isinstance(result, DeserializeProtobufError)
    assert result.error_type is TypeError
    assert result.message_data == data


def test_protobuf_value_deserializer_invalid_fields_are_an_error() -> None:
    data = OrderPlacedProto(event_name="x").SerializeToString()  # type: ignore[call-arg]

    result = ProtobufValueDeserializer(OrderPlaced, OrderPlacedProto)(data)

    assert isinstance(result, DeserializeProtobufError)
    assert result.error_type is pydantic.ValidationError
    assert result.message_data == data


def test_protobuf_deserializer_reprs() -> None:
    assert repr(ProtobufDeserializer(OrderPlaced, wrappers_pb2.StringValue)) == (
        "ProtobufDeserializer(model=OrderPlaced, proto_type=StringValue)"
    )
    assert repr(ProtobufValueDeserializer(OrderPlaced, wrappers_pb2.StringValue)) == (
        "ProtobufValueDeserializer(model=OrderPlaced, protobuf_model=StringValue)"
    )


# -- protobuf: ProtobufEventSerializer ----------------------------------------------------------


def test_protobuf_event_serializer_round_trip() -> None:
    codec = ProtobufEventSerializer({OrderPlaced: OrderPlacedProto, OrderShipped: OrderPlacedProto})

    for event in (_placed(), _shipped()):
        data = codec.serialize(event)
        assert data == protobuf_value_serializer(event)
        assert codec.deserialize(data, type(event)) == event
    assert codec.content_type == "application/x-protobuf"
    assert codec.content_type_for(_placed()) == "application/x-protobuf"


def test_protobuf_event_serializer_reads_confluent_frames() -> None:
    codec = ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})
    event = _placed()

    assert codec.deserialize(_frame(codec.serialize(event)), OrderPlaced) == event


def test_protobuf_event_serializer_refuses_an_unmapped_event() -> None:
    codec = ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})

    with pytest.raises(TypeError, match="OrderShipped"):
        codec.serialize(_shipped())
    with pytest.raises(TypeError, match="OrderShipped"):
        codec.deserialize(b"", OrderShipped)


def test_protobuf_event_serializer_deserialize_raises_on_bad_bytes() -> None:
    codec = ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})

    with pytest.raises(DecodeError):
        codec.deserialize(b"\xff\xff", OrderPlaced)
    with pytest.raises(ValueError, match="Confluent"):
        codec.deserialize(b"\x00\x00", OrderPlaced)


def test_protobuf_event_serializer_checks_the_mapped_message_class() -> None:
    class WrongProto(cqrs.NotificationEvent[Placed], frozen=True):
        def proto(self) -> Any:
            return OtherProto(note="x")  # type: ignore[call-arg]

    codec = ProtobufEventSerializer({WrongProto: OrderPlacedProto})
    event = WrongProto(event_name="w", payload=Placed(order_id="o", amount=1))

    with pytest.raises(TypeError, match="mapped to"):
        codec.serialize(event)


def test_protobuf_event_serializer_needs_the_hooks() -> None:
    class NoHooks(cqrs.NotificationEvent[Placed], frozen=True):
        pass

    codec = ProtobufEventSerializer({NoHooks: OrderPlacedProto})
    event = NoHooks(event_name="n", payload=Placed(order_id="o", amount=1))

    # NotImplementedError: python-cqrs's events raise it from their default hooks.
    with pytest.raises((NotImplementedError, TypeError), match="proto"):
        codec.serialize(event)
    with pytest.raises((NotImplementedError, TypeError), match="proto"):
        codec.deserialize(protobuf_value_serializer(_placed()), NoHooks)


def test_protobuf_event_serializer_refuses_a_mapping_that_is_not_classes() -> None:
    with pytest.raises(InvalidConfigurationError):
        ProtobufEventSerializer({OrderPlaced: dict})  # type: ignore[dict-item]
    with pytest.raises(InvalidConfigurationError):
        ProtobufEventSerializer({"OrderPlaced": OrderPlacedProto})  # type: ignore[dict-item]


def test_protobuf_event_serializer_repr() -> None:
    codec = ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})

    assert repr(codec) == "ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})"


# -- JsonEventSerializer ------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_placed, _shipped], ids=["pydantic", "dataclass"])
def test_json_event_serializer_round_trip(make: Any) -> None:
    codec = JsonEventSerializer()
    event = make()

    data = codec.serialize(event)

    assert data == default_serializer(event)
    assert codec.deserialize(data, type(event)) == event
    assert codec.content_type is None
    assert codec.content_type_for(event) is None


def test_json_event_serializer_deserialize_raises_on_bad_input() -> None:
    codec = JsonEventSerializer()

    with pytest.raises(ValueError, match="expected"):
        codec.deserialize(b"not json", OrderPlaced)
    with pytest.raises(TypeError, match="JSON array"):
        codec.deserialize(b"[]", OrderPlaced)
    with pytest.raises(pydantic.ValidationError):
        codec.deserialize(b"{}", OrderPlaced)


def test_the_codecs_are_event_codecs() -> None:
    codecs: list[EventCodec] = [
        JsonEventSerializer(),
        ProtobufEventSerializer({OrderPlaced: OrderPlacedProto}),
    ]
    event = _placed()

    for codec in codecs:
        assert codec.deserialize(codec.serialize(event), OrderPlaced) == event
