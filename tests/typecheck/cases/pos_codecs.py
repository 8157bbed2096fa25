"""Positive: the JSON and protobuf codecs keep the event's type."""

import dataclasses
from typing import Any

import pydantic
from google.protobuf import wrappers_pb2
from typing_extensions import Self, assert_type

import cqrs
from cqrs.deserializers import (
    DeserializeJsonError,
    DeserializeProtobufError,
    JsonDeserializer,
    ProtobufDeserializer,
    ProtobufValueDeserializer,
)
from cqrs.deserializers.json import JsonDeserializer as JsonDeserializerByPath
from cqrs.deserializers.protobuf import SupportsFromProto
from cqrs.serializers import (
    EventCodec,
    EventSerializer,
    JsonEventSerializer,
    default_serializer,
    protobuf_value_serializer,
)
from cqrs.serializers.protobuf import ProtobufEventSerializer, SupportsProto


class Placed(cqrs.Response):
    order_id: str


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    def proto(self) -> wrappers_pb2.StringValue:
        return wrappers_pb2.StringValue(value=self.payload.order_id)

    @classmethod
    def from_proto(cls, proto: wrappers_pb2.StringValue) -> Self:
        return cls(event_name="placed", payload=Placed(order_id=proto.value))


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderShipped(cqrs.DCNotificationEvent[dict[str, int]]):
    pass


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: str


class PlainModel(pydantic.BaseModel):
    n: int


placed = JsonDeserializer(model=OrderPlaced)
assert_type(placed, JsonDeserializer[OrderPlaced])
assert_type(placed(b"{}"), OrderPlaced | DeserializeJsonError)
assert_type(placed("{}"), OrderPlaced | DeserializeJsonError)
assert_type(placed(bytearray(b"{}")), OrderPlaced | DeserializeJsonError)
assert_type(placed(None), None)


def tombstone_or_body() -> bytes | None:
    return None


assert_type(placed(tombstone_or_body()), OrderPlaced | DeserializeJsonError | None)
assert_type(placed.model, type[OrderPlaced])

assert_type(JsonDeserializer(OrderShipped)(b"{}"), OrderShipped | DeserializeJsonError)
assert_type(JsonDeserializerByPath(UserJoined)(b"{}"), UserJoined | DeserializeJsonError)
assert_type(JsonDeserializer(PlainModel)(b"{}"), PlainModel | DeserializeJsonError)
explicit = JsonDeserializer[cqrs.NotificationEvent[Any]](model=cqrs.NotificationEvent)
assert_type(explicit(b"{}"), cqrs.NotificationEvent[Any] | DeserializeJsonError)

result = placed(b'{"event_name": "placed", "payload": {"order_id": "1"}}')
if isinstance(result, DeserializeJsonError):
    assert_type(result.error_message, str)
    assert_type(result.error_type, type[Exception])
    assert_type(result.message_data, str | bytes | None)
else:
    assert_type(result.payload, Placed)

proto_reader = ProtobufDeserializer(OrderPlaced, proto_type=wrappers_pb2.StringValue)
assert_type(proto_reader, ProtobufDeserializer[OrderPlaced])
assert_type(proto_reader(b""), OrderPlaced | DeserializeProtobufError)
assert_type(proto_reader(None), None)
proto_result = proto_reader(b"")
if isinstance(proto_result, DeserializeProtobufError):
    assert_type(proto_result.message_data, bytes)

value_reader = ProtobufValueDeserializer(model=OrderPlaced, protobuf_model=wrappers_pb2.StringValue)
assert_type(value_reader, ProtobufValueDeserializer[OrderPlaced])
assert_type(value_reader(b""), OrderPlaced | DeserializeProtobufError)
assert_type(value_reader(memoryview(b"")), OrderPlaced | DeserializeProtobufError)

event = OrderPlaced(event_name="placed", payload=Placed(order_id="1"))
assert_type(protobuf_value_serializer(event), bytes)
assert_type(default_serializer(event), bytes)
codec = ProtobufEventSerializer({OrderPlaced: wrappers_pb2.StringValue})
assert_type(codec.serialize(event), bytes)
assert_type(codec.deserialize(codec.serialize(event), OrderPlaced), OrderPlaced)
assert_type(codec.content_type, str | None)

writer: SupportsProto = event
factory: SupportsFromProto[wrappers_pb2.StringValue, OrderPlaced] = OrderPlaced
assert_type(codec.content_type_for(event), str | None)

json_codec = JsonEventSerializer()
assert_type(json_codec.serialize(event), bytes)
assert_type(json_codec.deserialize(b"{}", OrderPlaced), OrderPlaced)
assert_type(json_codec.deserialize(b"{}", OrderShipped), OrderShipped)
codecs: list[EventCodec] = [json_codec, codec]
writers: list[EventSerializer] = [json_codec, codec, *codecs]
assert_type(codecs[0].deserialize(b"{}", OrderPlaced), OrderPlaced)
assert_type(
    cqrs.ProtobufDeserializer(OrderPlaced, wrappers_pb2.StringValue),
    ProtobufDeserializer[OrderPlaced],
)
assert_type(cqrs.JsonEventSerializer, type[JsonEventSerializer])
