"""Request dispatching errors (python-cqrs import path)."""

from cqrs._errors import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs._public import claim

__all__ = (
    "RequestHandlerDoesNotExist",
    "RequestHandlerTypeError",
)

claim(__name__, globals(), __all__)
