"""Requests: commands and queries."""

from cqrs._messages.requests import (
    DCRequest,
    DCStreamingRequest,
    IRequest,
    PydanticRequest,
    PydanticStreamingRequest,
    Request,
    SendableRequest,
    StreamingRequest,
)
from cqrs._public import claim

__all__ = (
    "DCRequest",
    "DCStreamingRequest",
    "IRequest",
    "PydanticRequest",
    "PydanticStreamingRequest",
    "Request",
    "SendableRequest",
    "StreamingRequest",
)

claim(__name__, globals(), __all__)
