"""`DependencyInjectorCQRSContainer` (extra `dependency-injector`): handlers built by a
dependency-injector container, each in a request scope of its own."""

from cqrs._public import claim
from cqrs.adapters.dependency_injector import DependencyInjectorCQRSContainer

__all__ = ("DependencyInjectorCQRSContainer",)

claim(__name__, globals(), __all__)
