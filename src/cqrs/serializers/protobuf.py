"""Protobuf serializers (extra `protobuf`): an event's `proto()` into protobuf bytes.

An event takes part by defining `proto(self)`, returning its generated protobuf message,
and, to be read back, the class method `from_proto(cls, message)`.
`ProtobufEventSerializer({OrderPlaced: OrderPlacedProto})` is the codec both ways;
`protobuf_value_serializer(event)` is the name earlier python-cqrs 4.x releases had,
without their Schema Registry framing.
"""

from cqrs._adapters.protobuf_codecs import (
    CONTENT_TYPE,
    ProtobufEventSerializer,
    ProtoMessage,
    SupportsFromProto,
    SupportsProto,
    protobuf_value_serializer,
)
from cqrs._public import claim

__all__ = (
    "CONTENT_TYPE",
    "ProtoMessage",
    "ProtobufEventSerializer",
    "SupportsFromProto",
    "SupportsProto",
    "protobuf_value_serializer",
)

claim(__name__, globals(), __all__)
