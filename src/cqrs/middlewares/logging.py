"""A middleware that logs handler calls at DEBUG."""

from cqrs._adapters.logging_middleware import LoggingMiddleware
from cqrs._public import claim

__all__ = ("LoggingMiddleware",)

claim(__name__, globals(), __all__)
