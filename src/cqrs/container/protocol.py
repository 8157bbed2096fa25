"""The container protocol."""

from cqrs._interfaces.container import Container, Resolver
from cqrs._public import claim

__all__ = (
    "Container",
    "Resolver",
)

claim(__name__, globals(), __all__)
