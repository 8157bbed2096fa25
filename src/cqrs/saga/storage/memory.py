"""`MemorySagaStorage`: saga state in a dict, for tests and single-process use."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import uuid
from collections.abc import Sequence
from typing import Any

from cqrs.events import INotificationEvent
from cqrs.saga.errors import SagaConcurrencyError
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry, StepAction
from cqrs.saga.storage.protocol import ISagaStorage, LogWrite, SagaState

__all__ = ("MemorySagaStorage",)

_INTERRUPTED = frozenset({SagaStatus.PENDING, SagaStatus.RUNNING, SagaStatus.COMPENSATING})


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _seconds(seconds: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=seconds)


class MemorySagaStorage(ISagaStorage):
    """Keeps sagas in this process's memory; lost when it exits.

    Every method runs without awaiting anything, so each is atomic for the tasks of
    one event loop. Contexts and results are copied in and out.
    """

    def __init__(self) -> None:
        self._sagas: dict[uuid.UUID, SagaState] = {}
        self._logs: dict[uuid.UUID, list[SagaLogEntry]] = {}

    def _get(self, saga_id: uuid.UUID) -> SagaState:
        try:
            return self._sagas[saga_id]
        except KeyError:
            msg = f"Saga {saga_id} not found"
            raise ValueError(msg) from None

    def _put(self, state: SagaState, **changes: Any) -> None:  # noqa: ANN401 - dataclasses.replace
        self._sagas[state.saga_id] = dataclasses.replace(
            state,
            version=state.version + 1,
            updated_at=_now(),
            **changes,
        )

    async def create_saga(
        self,
        saga_id: uuid.UUID,
        name: str,
        context: dict[str, Any],
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        if saga_id in self._sagas:
            msg = f"Saga {saga_id} already exists"
            raise ValueError(msg)
        now = _now()
        self._sagas[saga_id] = SagaState(
            saga_id=saga_id,
            name=name,
            status=SagaStatus.PENDING,
            context=copy.deepcopy(context),
            version=1,
            recovery_attempts=0,
            created_at=now,
            updated_at=now,
            lease_owner=owner if owner is not None and lease_seconds is not None else None,
            lease_expires_at=(
                now + _seconds(lease_seconds)
                if owner is not None and lease_seconds is not None
                else None
            ),
        )
        self._logs[saga_id] = []

    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None:
        state = self._get(saga_id)
        if current_version is not None and state.version != current_version:
            msg = (
                f"Saga {saga_id} is at version {state.version}, "
                f"not {current_version}: another writer changed it"
            )
            raise SagaConcurrencyError(msg)
        self._put(state, context=copy.deepcopy(context))

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        self._put(self._get(saga_id), status=status)

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
        self._get(saga_id)
        self._append(saga_id, LogWrite(step_name, action, status, details, result))

    def _append(self, saga_id: uuid.UUID, log: LogWrite) -> None:
        self._logs[saga_id].append(
            SagaLogEntry(
                saga_id=saga_id,
                step_name=log.step_name,
                action=log.action,
                status=log.status,
                timestamp=_now(),
                details=log.details,
                result=copy.deepcopy(log.result),
            ),
        )

    async def load_saga(self, saga_id: uuid.UUID) -> SagaState:
        state = self._get(saga_id)
        return dataclasses.replace(state, context=copy.deepcopy(state.context))

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        return [
            SagaLogEntry(
                saga_id=entry.saga_id,
                step_name=entry.step_name,
                action=entry.action,
                status=entry.status,
                timestamp=entry.timestamp,
                details=entry.details,
                result=copy.deepcopy(entry.result),
            )
            for entry in self._logs.get(saga_id, ())
        ]

    async def get_sagas_for_recovery(
        self,
        limit: int,
        max_recovery_attempts: int = 5,
        stale_after_seconds: int | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        if limit <= 0:
            return []
        statuses = {SagaStatus.RUNNING, SagaStatus.COMPENSATING}
        cutoff = None if stale_after_seconds is None else _now() - _seconds(stale_after_seconds)
        found = [
            state
            for state in self._sagas.values()
            if state.status in statuses
            and state.recovery_attempts < max_recovery_attempts
            and (cutoff is None or state.updated_at < cutoff)
            and (saga_name is None or state.name == saga_name)
        ]
        found.sort(key=lambda state: state.updated_at)
        return [state.saga_id for state in found[:limit]]

    async def increment_recovery_attempts(
        self,
        saga_id: uuid.UUID,
        new_status: SagaStatus | None = None,
    ) -> None:
        state = self._get(saga_id)
        self._put(
            state,
            recovery_attempts=state.recovery_attempts + 1,
            status=state.status if new_status is None else new_status,
        )

    async def set_recovery_attempts(self, saga_id: uuid.UUID, attempts: int) -> None:
        self._put(self._get(saga_id), recovery_attempts=attempts)

    def _leased_by_other(self, state: SagaState, owner: str, now: datetime.datetime) -> bool:
        return (
            state.lease_owner is not None
            and state.lease_owner != owner
            and state.lease_expires_at is not None
            and state.lease_expires_at > now
        )

    async def acquire_lease(self, saga_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
        state = self._get(saga_id)
        now = _now()
        if self._leased_by_other(state, owner, now):
            return False
        self._put(state, lease_owner=owner, lease_expires_at=now + _seconds(lease_seconds))
        return True

    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        state = self._sagas.get(saga_id)
        if state is not None and state.lease_owner == owner:
            self._put(state, lease_owner=None, lease_expires_at=None)

    def _interrupted(
        self,
        now: datetime.datetime,
        saga_name: str | None,
    ) -> list[SagaState]:
        found = [
            state
            for state in self._sagas.values()
            if state.status in _INTERRUPTED
            and (state.lease_expires_at is None or state.lease_expires_at <= now)
            and (saga_name is None or state.name == saga_name)
        ]
        found.sort(key=lambda state: state.updated_at)
        return found

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
        now = _now()
        cutoff = None if stale_after_seconds is None else now - _seconds(stale_after_seconds)
        claimed: list[uuid.UUID] = []
        for state in self._interrupted(now, saga_name):
            if len(claimed) >= limit:
                break
            if state.recovery_attempts >= max_recovery_attempts:
                continue
            if cutoff is not None and state.updated_at >= cutoff:
                continue
            self._put(
                state,
                lease_owner=owner,
                lease_expires_at=now + _seconds(lease_seconds),
                recovery_attempts=state.recovery_attempts + 1,
            )
            claimed.append(state.saga_id)
        return claimed

    async def fail_exhausted(
        self,
        max_recovery_attempts: int,
        *,
        limit: int,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        failed: list[uuid.UUID] = []
        for state in self._interrupted(_now(), saga_name):
            if len(failed) >= limit:
                break
            if state.recovery_attempts >= max_recovery_attempts:
                self._put(state, status=SagaStatus.FAILED, lease_owner=None, lease_expires_at=None)
                failed.append(state.saga_id)
        return failed

    async def checkpoint(
        self,
        saga_id: uuid.UUID,
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
        context: dict[str, Any] | None = None,
        status: SagaStatus | None = None,
        log: LogWrite | None = None,
        events: Sequence[INotificationEvent[Any]] = (),
    ) -> None:
        if events:
            msg = "MemorySagaStorage has no outbox (stores_events is False)"
            raise ValueError(msg)
        state = self._get(saga_id)
        changes: dict[str, Any] = {}
        if owner is not None:
            if state.lease_owner != owner:
                msg = (
                    f"Saga {saga_id}'s lease is held by {state.lease_owner!r}, "
                    f"not {owner!r}: another runner took it over"
                )
                raise SagaConcurrencyError(msg)
            if lease_seconds is not None:
                changes["lease_expires_at"] = _now() + _seconds(lease_seconds)
        if context is not None:
            changes["context"] = copy.deepcopy(context)
        if status is not None:
            changes["status"] = status
        self._put(state, **changes)
        if log is not None:
            self._append(saga_id, log)
