"""Protobuf deserializers (extra `protobuf`): protobuf bytes into typed events.

`ProtobufDeserializer(OrderPlaced, OrderPlacedProto)` builds the event with
`OrderPlaced.from_proto(message)`; `ProtobufValueDeserializer(model=OrderPlaced,
protobuf_model=OrderPlacedProto)`, the name earlier python-cqrs 4.x releases had, builds
it from the message's fields with `from_dict`. Both read plain protobuf bytes and
Confluent-framed ones, and return a `DeserializeProtobufError` for bad input instead of
raising.
"""

from cqrs._adapters.codecs import DeserializeProtobufError
from cqrs._adapters.protobuf_codecs import (
    ProtobufDeserializer,
    ProtobufValueDeserializer,
    ProtoDeserializable,
    ProtoMessage,
    SupportsFromProto,
)
from cqrs._public import claim

__all__ = (
    "DeserializeProtobufError",
    "ProtoDeserializable",
    "ProtoMessage",
    "ProtobufDeserializer",
    "ProtobufValueDeserializer",
    "SupportsFromProto",
)

claim(__name__, globals(), __all__)
