"""The event handler base class."""

from cqrs._interfaces.handlers import EventHandler
from cqrs._public import claim

__all__ = ("EventHandler",)

claim(__name__, globals(), __all__)
