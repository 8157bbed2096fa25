"""Requests, their handlers and the request map."""

from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._maps.request_map import RequestMap
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
    "RequestHandler",
    "RequestMap",
    "SendableRequest",
    "StreamingRequest",
    "StreamingRequestHandler",
)

claim(__name__, globals(), __all__)
