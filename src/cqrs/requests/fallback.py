"""Request handler fallbacks: a second handler for when the first fails."""

from cqrs._composites.fallback import FailureExceptions, RequestHandlerFallback
from cqrs._public import claim

__all__ = ("FailureExceptions", "RequestHandlerFallback")

claim(__name__, globals(), __all__)
