"""`SagaLogEntry`: one line of a saga's step log."""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from cqrs.saga.storage.enums import SagaStepStatus

__all__ = ("SagaLogEntry", "StepAction")

StepAction = Literal["act", "compensate"]


class SagaLogEntry:
    """A step action's status at a point in time.

    `step_name` is the step's id (its `step_id`, by default its class's qualified
    name). `result` is what a completed `act` returned, as `to_dict` data, so a
    recovered saga can hand it to the step's compensation.
    """

    __slots__ = ("action", "details", "result", "saga_id", "status", "step_name", "timestamp")

    def __init__(
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: StepAction,
        status: SagaStepStatus,
        timestamp: datetime.datetime,
        details: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        self.saga_id: uuid.UUID = saga_id
        self.step_name: str = step_name
        self.action: StepAction = action
        self.status: SagaStepStatus = status
        self.timestamp: datetime.datetime = timestamp
        self.details: str | None = details
        self.result: dict[str, Any] | None = result

    def __repr__(self) -> str:
        return (
            f"SagaLogEntry(saga_id={self.saga_id}, step_name={self.step_name!r}, "
            f"action={self.action!r}, status={self.status.value!r}, "
            f"timestamp={self.timestamp.isoformat()})"
        )
