"""Negative: codecs given classes that cannot be built, results used before narrowing."""

import pydantic
from google.protobuf import wrappers_pb2
from typing_extensions import Self

import cqrs
from cqrs.deserializers import JsonDeserializer, ProtobufDeserializer, ProtobufValueDeserializer
from cqrs.serializers import protobuf_value_serializer
from cqrs.serializers.protobuf import ProtobufEventSerializer


class Placed(cqrs.Response):
    order_id: str


class OrderPlaced(cqrs.NotificationEvent[Placed], frozen=True):
    def proto(self) -> wrappers_pb2.StringValue:
        return wrappers_pb2.StringValue(value=self.payload.order_id)

    @classmethod
    def from_proto(cls, proto: wrappers_pb2.StringValue) -> Self:
        return cls(event_name="placed", payload=Placed(order_id=proto.value))


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: str


class NotAModel:
    pass


placed = JsonDeserializer(model=OrderPlaced)
codec = ProtobufEventSerializer({OrderPlaced: wrappers_pb2.StringValue})

JsonDeserializer(model=NotAModel)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
JsonDeserializer(model=int)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
placed(42)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
order: Placed = placed(b"{}").payload  # type: ignore[union-attr]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]
event: OrderPlaced = placed(b"{}")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
ProtobufDeserializer(OrderPlaced, wrappers_pb2.Int64Value)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
ProtobufDeserializer(UserJoined, wrappers_pb2.StringValue)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
ProtobufDeserializer(OrderPlaced, int)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
ProtobufDeserializer(OrderPlaced, wrappers_pb2.StringValue)("text")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
ProtobufValueDeserializer(model=NotAModel, protobuf_model=wrappers_pb2.StringValue)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
ProtobufValueDeserializer(model=OrderPlaced, protobuf_model=pydantic.BaseModel)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
protobuf_value_serializer(UserJoined(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
codec.serialize(UserJoined(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
codec.deserialize(b"", UserJoined)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
joined: UserJoined = codec.deserialize(b"", OrderPlaced)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
ProtobufEventSerializer()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
cqrs.JsonEventSerializer().serialize(UserJoined(user_id="u1"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
cqrs.JsonEventSerializer().deserialize(b"{}", UserJoined)  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
