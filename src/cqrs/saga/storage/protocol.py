"""`ISagaStorage`: what a saga storage does, python-cqrs's methods plus leases."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime
import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Any, NamedTuple, Protocol

from cqrs.events import INotificationEvent
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry, StepAction

__all__ = ("ISagaStorage", "LogWrite", "SagaState", "SagaStorageRun")


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


class SagaStorageRun(Protocol):
    """python-cqrs's unit of work over a storage (`ISagaStorage.create_run()`)."""

    async def create_saga(self, saga_id: uuid.UUID, name: str, context: dict[str, Any]) -> None: ...

    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None: ...

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None: ...

    async def log_step(
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: StepAction,
        status: SagaStepStatus,
        details: str | None = None,
    ) -> None: ...

    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,
    ) -> tuple[SagaStatus, dict[str, Any], int]: ...

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class _WriteThroughRun:
    """A run whose writes go straight to the storage (each committed when made)."""

    __slots__ = ("_storage",)

    def __init__(self, storage: ISagaStorage) -> None:
        self._storage = storage

    async def create_saga(self, saga_id: uuid.UUID, name: str, context: dict[str, Any]) -> None:
        await self._storage.create_saga(saga_id, name, context)

    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None:
        await self._storage.update_context(saga_id, context, current_version)

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        await self._storage.update_status(saga_id, status)

    async def log_step(
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: StepAction,
        status: SagaStepStatus,
        details: str | None = None,
    ) -> None:
        await self._storage.log_step(saga_id, step_name, action, status, details)

    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        return await self._storage.load_saga_state(saga_id, read_for_update=read_for_update)

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        return await self._storage.get_step_history(saga_id)

    async def commit(self) -> None:
        """Nothing left to commit: each write was committed when made."""

    async def rollback(self) -> None:
        """Nothing can be undone: each write was committed when made."""


class ISagaStorage(abc.ABC):
    """Saga state: one row per saga (status, context, version, lease) and a step log.

    The abstract methods are python-cqrs 4.x's nine, with the same signatures and
    meaning, so a storage written for python-cqrs works here. The others have
    defaults built on those nine, which the shipped storages replace:

    - leases: whoever runs a saga (a mediator's stream, `recover_saga`, a recovery
      worker) holds its lease, renews it while it runs, and releases it at the end; a
      saga whose lease expired was interrupted (its runner crashed or was killed),
      and `claim_for_recovery` hands it to exactly one worker. The defaults keep no
      lease (`supports_leases` is False): one runner per saga is then up to you;
    - `checkpoint`: one atomic write per step (default: the nine methods in turn);
    - `load_saga` / `find_saga`: the whole row (default: from `load_saga_state`).

    Each method is atomic on its own. Every change of a saga's row increments its
    `version`.
    """

    stores_events: bool = False
    """Whether `checkpoint` can store a step's notification events in an outbox.

    When true, the saga engine hands each completed step's notification events to
    the checkpoint that records the step, instead of publishing them: the step's
    completion and its events are committed together.
    """

    supports_leases: bool = False
    """Whether the storage keeps leases (the shipped ones do); see the class docstring."""

    @contextlib.asynccontextmanager
    async def create_run(self) -> AsyncGenerator[SagaStorageRun, None]:
        """python-cqrs's unit of work: the storage's methods, then `commit()`.

        Here each write of a run is committed when made (the saga engine writes each
        step in one `checkpoint` instead): `commit()` does nothing more, and
        `rollback()` cannot undo them.
        """
        yield _WriteThroughRun(self)

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

    async def load_saga(self, saga_id: uuid.UUID) -> SagaState:
        """The saga's row. Raises `ValueError` if the saga is unknown.

        Default (for storages written for python-cqrs): from `load_saga_state`, with
        the name, counters and times it does not know left empty.
        """
        status, context, version = await self.load_saga_state(saga_id)
        epoch = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
        return SagaState(saga_id, "", status, context, version, 0, epoch, epoch, None, None)

    async def find_saga(self, saga_id: uuid.UUID) -> SagaState | None:
        """The saga's row, or None if the saga is unknown (what runners call first)."""
        try:
            return await self.load_saga(saga_id)
        except ValueError:
            return None

    @abc.abstractmethod
    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        """(status, context, version). Raises `ValueError` if the saga is unknown.

        `read_for_update` is python-cqrs's; the shipped storages lock with leases
        instead and ignore it.
        """

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

    async def acquire_lease(self, saga_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
        """Take or extend the saga's lease for `owner`, unless another owner holds it.

        True if `owner` now holds it until `lease_seconds` from now; False if another
        owner's lease has not expired. Raises `ValueError` if the saga is unknown.
        Default: no lease is kept; always True.
        """
        del owner, lease_seconds  # no lease to take
        await self.load_saga_state(saga_id)
        return True

    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        """Drop `owner`'s lease (no-op if it does not hold it). Default: nothing to drop."""
        del saga_id, owner

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

        Default (no leases): `get_sagas_for_recovery`, counting an attempt on each;
        only safe with one recovery worker.
        """
        del owner, lease_seconds  # no lease to take
        stale = None if stale_after_seconds is None else int(stale_after_seconds)
        found = await self.get_sagas_for_recovery(limit, max_recovery_attempts, stale, saga_name)
        for saga_id in found:
            await self.increment_recovery_attempts(saga_id)
        return found

    async def fail_exhausted(
        self,
        max_recovery_attempts: int,
        *,
        limit: int,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        """Mark FAILED the interrupted sagas that used up their recovery attempts.

        Interrupted as in `claim_for_recovery`, with `max_recovery_attempts` or more.
        Returns their ids so the caller can report them. Default: none (python-cqrs's
        `get_sagas_for_recovery` cannot list them).
        """
        del max_recovery_attempts, limit, saga_name
        return []

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

        Default (for storages written for python-cqrs): `update_context`,
        `update_status` and `log_step` in turn, not atomic; no lease is checked.
        """
        del owner, lease_seconds, release  # no lease kept
        if events:
            msg = f"{type(self).__qualname__} has no outbox (stores_events is False)"
            raise ValueError(msg)
        if context is not None:
            await self.update_context(saga_id, context)
        if status is not None:
            await self.update_status(saga_id, status)
        for line in (log, *logs) if log is not None else logs:
            await self.log_step(saga_id, line.step_name, line.action, line.status, line.details)
