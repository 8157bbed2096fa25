"""One-call set-up of `EventMediator`."""

from cqrs._bootstrap.events import bootstrap, setup_mediator
from cqrs._public import claim

__all__ = ("bootstrap", "setup_mediator")

claim(__name__, globals(), __all__)
