"""Request handler base classes."""

from cqrs._interfaces.handlers import RequestHandler, StreamingRequestHandler
from cqrs._public import claim

__all__ = (
    "RequestHandler",
    "StreamingRequestHandler",
)

claim(__name__, globals(), __all__)
