"""The request map: one handler per request type."""

from cqrs._maps.request_map import AnyRequestHandlerType, RequestClass, RequestMap
from cqrs._public import claim

__all__ = (
    "AnyRequestHandlerType",
    "RequestClass",
    "RequestMap",
)

claim(__name__, globals(), __all__)
