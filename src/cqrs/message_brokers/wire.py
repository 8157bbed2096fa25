"""The wire format every shipped broker uses, and the registry that decodes it."""

from cqrs._adapters.wire import (
    CONTENT_TYPE,
    HEADER_MESSAGE_ID,
    HEADER_MESSAGE_NAME,
    HEADER_TIMESTAMP,
    HEADER_WIRE_VERSION,
    WIRE_VERSION,
    EncodedMessage,
    MessageRegistry,
    encode,
    header_text,
)
from cqrs._public import claim

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

claim(__name__, globals(), __all__)
