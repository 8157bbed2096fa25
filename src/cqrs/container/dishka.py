"""`DishkaContainer` (extra `dishka`): handlers built by a dishka container, each in a
`Scope.REQUEST` child container of its own. `DishkaCQRSContainer` is python-cqrs's name."""

from cqrs._public import claim
from cqrs.adapters.dishka import DishkaContainer, DishkaCQRSContainer

__all__ = ("DishkaCQRSContainer", "DishkaContainer")

claim(__name__, globals(), __all__)
