"""Requests, their handlers and the request map."""

from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._maps.request_map import RequestMap
from cqrs._messages.requests import DCRequest, IRequest, PydanticRequest, Request
from cqrs._public import claim

__all__ = (
    "DCRequest",
    "IRequest",
    "PydanticRequest",
    "Request",
    "RequestHandler",
    "RequestMap",
    "StreamingRequestHandler",
)

claim(__name__, globals(), __all__)
