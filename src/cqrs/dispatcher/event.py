"""python-cqrs's event dispatcher (internal API: use `EventMediator`)."""

from cqrs._mediators.dispatchers import EventDispatcher
from cqrs._public import claim

__all__ = ("EventDispatcher",)

claim(__name__, globals(), __all__)
