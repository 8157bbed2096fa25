"""The container protocols."""

from cqrs._interfaces.container import Container, Release, Resolver, ScopedResolver
from cqrs._public import claim

__all__ = (
    "Container",
    "Release",
    "Resolver",
    "ScopedResolver",
)

claim(__name__, globals(), __all__)
