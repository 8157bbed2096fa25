"""The errors raised when a request or a saga cannot be dispatched."""

from typing import TYPE_CHECKING

from cqrs._errors import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs._public import claim

if TYPE_CHECKING:
    from cqrs.saga.errors import SagaConcurrencyError, SagaDoesNotExist

__all__ = (
    "RequestHandlerDoesNotExist",
    "RequestHandlerTypeError",
    "SagaConcurrencyError",
    "SagaDoesNotExist",
)

claim(__name__, globals(), __all__[:2])


def __getattr__(name: str) -> object:
    # The saga errors live in cqrs.saga.errors, loaded on first use.
    if name in {"SagaConcurrencyError", "SagaDoesNotExist"}:
        from cqrs.saga import errors  # `import cqrs` does not load sagas

        value: object = getattr(errors, name)
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
