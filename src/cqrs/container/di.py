"""The `Container` adapter over a `di.Container`."""

from cqrs._adapters.di_container import DIContainer
from cqrs._public import claim

__all__ = ("DIContainer",)

claim(__name__, globals(), __all__)
