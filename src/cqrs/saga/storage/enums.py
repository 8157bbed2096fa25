"""The statuses a saga and its steps go through."""

from __future__ import annotations

import enum

__all__ = ("SagaStatus", "SagaStepStatus")


class SagaStatus(str, enum.Enum):
    """A saga's status: PENDING → RUNNING → COMPLETED, or → COMPENSATING → FAILED.

    FAILED means the saga did not complete: its completed steps were compensated
    (or their compensation failed and was reported).
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class SagaStepStatus(str, enum.Enum):
    """A step action's status in the saga's log."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"

    def __str__(self) -> str:
        return self.value
