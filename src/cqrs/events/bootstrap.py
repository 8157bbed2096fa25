"""One-call set-up of `EventMediator`."""

from cqrs._bootstrap.events import bootstrap
from cqrs._public import claim

__all__ = ("bootstrap",)

claim(__name__, globals(), __all__)
