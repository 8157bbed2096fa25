"""Event handler fallbacks: a second handler for when the first fails."""

from cqrs._composites.fallback import EventHandlerFallback
from cqrs._public import claim

__all__ = ("EventHandlerFallback",)

claim(__name__, globals(), __all__)
