"""Deserializers: a consumer's raw bytes back into typed events, bad input as a value.

`JsonDeserializer(model=OrderPlaced)` reads JSON; `ProtobufDeserializer` (with the
event's `from_proto`) and `ProtobufValueDeserializer` (through the message's fields)
read protobuf, extra `protobuf`. Each returns the event, or a `DeserializeJsonError` /
`DeserializeProtobufError` carrying the error and the raw data: none raises for bad
input. Importing this module imports no protobuf.
"""

from cqrs._adapters.codecs import (
    Deserializable,
    DeserializeJsonError,
    DeserializeProtobufError,
    JsonDeserializer,
)
from cqrs._adapters.protobuf_codecs import ProtobufDeserializer, ProtobufValueDeserializer
from cqrs._public import claim

__all__ = (
    "Deserializable",
    "DeserializeJsonError",
    "DeserializeProtobufError",
    "JsonDeserializer",
    "ProtobufDeserializer",
    "ProtobufValueDeserializer",
)

claim(__name__, globals(), __all__)
