"""`ISagaStorage`: what a saga storage does, python-cqrs's methods plus leases."""

from __future__ import annotations

import abc
import dataclasses
import datetime
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from cqrs.events import INotificationEvent
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry, StepAction

__all__ = ("ISagaStorage", "LogWrite", "SagaState")


@dataclasses.dataclass(frozen=True)
class SagaState:
    """A saga's stored row."""

    saga_id: uuid.UUID
    name: str
    status: SagaStatus
    context: dict[str, Any]
    version: int
    recovery_attempts: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    lease_owner: str | None
    lease_expires_at: datetime.datetime | None


class LogWrite(NamedTuple):
    """A log line a checkpoint appends."""

    step_name: str
    action: StepAction
    status: SagaStepStatus
    details: str | None = None
    result: dict[str, Any] | None = None


class ISagaStorage(abc.ABC):
    stores_events: bool = False
    """Whether `checkpoint` can store a step's notification events in an outbox.

    When true, the saga engine hands each completed step's notification events to
    the checkpoint that records the step, instead of publishing them: the step's
    completion and its events are committed together.
    """

    """Saga state: one row per saga (status, context, version, lease) and a step log.

    The first nine methods are python-cqrs 4.x's, with the same signatures and
    meaning; a storage written for it needs the lease methods and `load_saga` too.
    Each method is atomic on its own. Every change of a saga's row increments its
    `version`.

    Leases: whoever runs a saga (a mediator's stream, `recover_saga`, a recovery
    worker) holds its lease, renews it while it runs, and releases it at the end. A
    saga whose lease expired was interrupted (its runner crashed or was killed):
    `claim_for_recovery` hands it to exactly one worker.
    """

    @abc.abstractmethod
    async def create_saga(
        self,
        saga_id: uuid.UUID,
        name: str,
        context: dict[str, Any],
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        """Insert a saga: PENDING, version 1, no recovery attempts.

        With `owner` and `lease_seconds`, the saga is created leased to `owner`, so no
        recovery worker can claim it between its creation and its first step. Raises
        `ValueError` if the id exists.
        """

    @abc.abstractmethod
    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None:
        """Replace the context; with `current_version`, only if the row still has it.

        Raises `SagaConcurrencyError` on a version mismatch, `ValueError` if unknown.
        """

    @abc.abstractmethod
    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        """Set the status. Raises `ValueError` if the saga is unknown."""

    @abc.abstractmethod
    async def log_step(
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: StepAction,
        status: SagaStepStatus,
        details: str | None = None,
        *,
        result: dict[str, Any] | None = None,
    ) -> None:
        """Append a line to the saga's step log."""

    @abc.abstractmethod
    async def load_saga(self, saga_id: uuid.UUID) -> SagaState:
        """The saga's row. Raises `ValueError` if the saga is unknown."""

    async def find_saga(self, saga_id: uuid.UUID) -> SagaState | None:
        """The saga's row, or None if the saga is unknown (what runners call first)."""
        try:
            return await self.load_saga(saga_id)
        except ValueError:
            return None

    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,  # noqa: ARG002 - python-cqrs signature; leases lock instead
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        """(status, context, version). Raises `ValueError` if the saga is unknown."""
        state = await self.load_saga(saga_id)
        return state.status, state.context, state.version

    @abc.abstractmethod
    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        """The saga's step log, oldest first (in the order written); [] if unknown."""

    @abc.abstractmethod
    async def get_sagas_for_recovery(
        self,
        limit: int,
        max_recovery_attempts: int = 5,
        stale_after_seconds: int | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        """Ids of RUNNING or COMPENSATING sagas with fewer recovery attempts than the maximum.

        Only those not updated for `stale_after_seconds` when given, and only sagas
        named `saga_name` when given; least recently updated first. This neither
        looks at nor takes leases: several workers should use `claim_for_recovery`.
        """

    @abc.abstractmethod
    async def increment_recovery_attempts(
        self,
        saga_id: uuid.UUID,
        new_status: SagaStatus | None = None,
    ) -> None:
        """Add one recovery attempt, and set the status if `new_status` is given."""

    @abc.abstractmethod
    async def set_recovery_attempts(self, saga_id: uuid.UUID, attempts: int) -> None:
        """Set the number of recovery attempts."""

    @abc.abstractmethod
    async def acquire_lease(self, saga_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
        """Take or extend the saga's lease for `owner`, unless another owner holds it.

        True if `owner` now holds it until `lease_seconds` from now; False if another
        owner's lease has not expired. Raises `ValueError` if the saga is unknown.
        """

    @abc.abstractmethod
    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        """Drop `owner`'s lease (no-op if it does not hold it)."""

    @abc.abstractmethod
    async def claim_for_recovery(
        self,
        owner: str,
        *,
        limit: int,
        lease_seconds: float,
        max_recovery_attempts: int = 5,
        stale_after_seconds: float | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        """Lease up to `limit` interrupted sagas to `owner` and count an attempt on each.

        Interrupted: PENDING, RUNNING or COMPENSATING, with no lease or an expired one,
        fewer recovery attempts than the maximum, and (when given) not updated for
        `stale_after_seconds`. Concurrent callers never get the same saga (SQL
        storages lock rows with `FOR UPDATE SKIP LOCKED`).
        """

    @abc.abstractmethod
    async def fail_exhausted(
        self,
        max_recovery_attempts: int,
        *,
        limit: int,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        """Mark FAILED the interrupted sagas that used up their recovery attempts.

        Interrupted as in `claim_for_recovery`, with `max_recovery_attempts` or more.
        Returns their ids so the caller can report them.
        """

    @abc.abstractmethod
    async def checkpoint(
        self,
        saga_id: uuid.UUID,
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
        context: dict[str, Any] | None = None,
        status: SagaStatus | None = None,
        log: LogWrite | None = None,
        logs: Sequence[LogWrite] = (),
        events: Sequence[INotificationEvent[Any]] = (),
        release: bool = False,
    ) -> None:
        """In one transaction: check the lease, set context and status, append the lines.

        `log`, then `logs`, are appended in that order. `events` (only when
        `stores_events` is true) are added to the storage's outbox in the same
        transaction. `release` (with `owner`) drops the lease after the write.

        With `owner`, raises `SagaConcurrencyError` (writing nothing) unless `owner`
        holds the lease (expired or not: nobody took it over), and, when
        `lease_seconds` is given, makes the lease expire `lease_seconds` from now.
        Raises `ValueError` if the saga is unknown.

        Every checkpoint is a change of the row, so it increments `version`, a
        lease-only one (a runner's heartbeat) included.
        """
