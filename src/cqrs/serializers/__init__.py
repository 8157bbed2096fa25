"""Serializers: notification events into the bytes a broker carries, and back.

`JsonEventSerializer` and `ProtobufEventSerializer` (extra `protobuf`) are the codecs
(`EventCodec`: `serialize`, `content_type_for`, `deserialize`); `default_serializer`
writes any message's JSON and `protobuf_value_serializer` an event's `proto()` bytes.
Importing this module imports no protobuf.
"""

from cqrs._adapters.codecs import (
    EventCodec,
    EventSerializer,
    JsonEventSerializer,
    default_serializer,
)
from cqrs._adapters.protobuf_codecs import ProtobufEventSerializer, protobuf_value_serializer
from cqrs._public import claim

__all__ = (
    "EventCodec",
    "EventSerializer",
    "JsonEventSerializer",
    "ProtobufEventSerializer",
    "default_serializer",
    "protobuf_value_serializer",
)

claim(__name__, globals(), __all__)
