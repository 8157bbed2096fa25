"""Dependency containers."""

from cqrs._adapters.di_container import DIContainer
from cqrs._interfaces.container import Container, Resolver
from cqrs._public import claim

__all__ = (
    "Container",
    "DIContainer",
    "Resolver",
)

claim(__name__, globals(), __all__)
