"""The request map: one handler per request type."""

from cqrs._maps.request_map import AnyRequestHandlerType, RequestBinding, RequestClass, RequestMap
from cqrs._public import claim

__all__ = (
    "AnyRequestHandlerType",
    "RequestBinding",
    "RequestClass",
    "RequestMap",
)

claim(__name__, globals(), __all__)
