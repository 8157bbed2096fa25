"""The middleware protocol and chain."""

from cqrs._interfaces.middleware import Handle, Middleware, MiddlewareChain
from cqrs._public import claim

__all__ = (
    "Handle",
    "Middleware",
    "MiddlewareChain",
)

claim(__name__, globals(), __all__)
