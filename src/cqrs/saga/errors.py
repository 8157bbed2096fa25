"""The errors sagas raise."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from cqrs.exceptions import CQRSError

__all__ = (
    "SagaConcurrencyError",
    "SagaDoesNotExist",
    "SagaRecoveredError",
    "SagaStepTypeError",
    "SagaStorageError",
    "SagaTimeoutError",
)


class SagaDoesNotExist(CQRSError, LookupError):  # noqa: N818 - python-cqrs name
    """No saga is bound to the context's class."""


class SagaConcurrencyError(CQRSError):
    """Another writer changed the saga's state, or took over its lease."""


class SagaStorageError(CQRSError):
    """The saga storage failed; the saga stays as last stored, for recovery to finish."""


class SagaStepTypeError(CQRSError, TypeError):
    """A saga's steps are not step classes for its context."""


class SagaTimeoutError(CQRSError, TimeoutError):
    """A step or the whole saga ran past its deadline (the saga is compensated)."""


class SagaRecoveredError(CQRSError, RuntimeError):
    """A saga found compensating or failed was compensated; it never runs forward again.

    A `RuntimeError` whose text says "recovered in <status> state", as python-cqrs
    raises. `failed_steps` lists the compensations that failed again (the saga then
    stays COMPENSATING, for a later recovery).
    """

    def __init__(
        self,
        saga_id: uuid.UUID,
        status: str,
        failed_steps: Sequence[str] = (),
    ) -> None:
        outcome = (
            "compensation was completed"
            if not failed_steps
            else f"the compensation of {', '.join(failed_steps)} failed again"
        )
        super().__init__(
            f"Saga {saga_id} was recovered in {status} state and {outcome}. "
            "Forward execution is not allowed.",
        )
        self.saga_id: uuid.UUID = saga_id
        self.status: str = status
        self.failed_steps: tuple[str, ...] = tuple(failed_steps)
