"""Middlewares: code around every handler call."""

from cqrs._adapters.logging_middleware import LoggingMiddleware
from cqrs._interfaces.middleware import Handle, Middleware, MiddlewareChain
from cqrs._public import claim

__all__ = (
    "Handle",
    "LoggingMiddleware",
    "Middleware",
    "MiddlewareChain",
)

claim(__name__, globals(), __all__)
