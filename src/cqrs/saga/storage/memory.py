"""`MemorySagaStorage`: saga state in a dict, for tests and single-process use."""

from __future__ import annotations

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

_ACTIONS: dict[str, StepAction] = {"act": "act", "compensate": "compensate"}
_INTERRUPTED = frozenset({SagaStatus.PENDING, SagaStatus.RUNNING, SagaStatus.COMPENSATING})


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


_SPANS: dict[float, datetime.timedelta] = {}


def _seconds(seconds: float) -> datetime.timedelta:
    span = _SPANS.get(seconds)
    if span is None:  # a handful of lease lengths per process: cache them
        span = datetime.timedelta(seconds=seconds)
        if len(_SPANS) < 64:  # noqa: PLR2004 - a bound, not a setting
            _SPANS[seconds] = span
    return span


def _copy(value: Any) -> Any:  # noqa: ANN401 - JSON data of any shape
    """A copy of JSON data (dicts, lists, scalars): what a database would hand back."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}  # pyright: ignore[reportUnknownVariableType]  # JSON data
    if isinstance(value, list):
        return [_copy(item) for item in value]  # pyright: ignore[reportUnknownVariableType]  # as above
    return value


# A log line as kept: (step, action, status value, details, result, time). Plain values
# only, so the garbage collector stops tracking most of these tuples; the storage
# keeps every line of every saga.
_Line = tuple[str, str, str, "str | None", "dict[str, Any] | None", datetime.datetime]


class _Row:
    """A saga's row, changed in place (cheaper than rebuilding a frozen `SagaState`)."""

    __slots__ = (
        "context",
        "created_at",
        "lease_expires_at",
        "lease_owner",
        "logs",
        "name",
        "recovery_attempts",
        "saga_id",
        "status",
        "updated_at",
        "version",
    )

    def __init__(
        self,
        saga_id: uuid.UUID,
        name: str,
        context: dict[str, Any],
        now: datetime.datetime,
    ) -> None:
        self.saga_id = saga_id
        self.name = name
        self.status = SagaStatus.PENDING
        self.context = context
        self.version = 1
        self.recovery_attempts = 0
        self.created_at = now
        self.updated_at = now
        self.lease_owner: str | None = None
        self.lease_expires_at: datetime.datetime | None = None
        self.logs: list[_Line] = []

    def __getitem__(self, field: str) -> object:
        # python-cqrs kept rows as dicts: `row["updated_at"]`.
        return getattr(self, field)

    def __setitem__(self, field: str, value: object) -> None:
        if field not in self.__slots__:
            raise KeyError(field)
        setattr(self, field, value)

    def touch(self, now: datetime.datetime) -> None:
        self.version += 1
        self.updated_at = now

    def state(self) -> SagaState:
        return SagaState(
            saga_id=self.saga_id,
            name=self.name,
            status=self.status,
            context=_copy(self.context),
            version=self.version,
            recovery_attempts=self.recovery_attempts,
            created_at=self.created_at,
            updated_at=self.updated_at,
            lease_owner=self.lease_owner,
            lease_expires_at=self.lease_expires_at,
        )

    def leased_by_other(self, owner: str, now: datetime.datetime) -> bool:
        return (
            self.lease_owner is not None
            and self.lease_owner != owner
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )


class _RowsById:
    """The rows by saga id, as python-cqrs's `MemorySagaStorage._sagas` is indexed."""

    __slots__ = ("_rows",)

    def __init__(self, rows: dict[int, _Row]) -> None:
        self._rows = rows

    def __getitem__(self, saga_id: uuid.UUID) -> _Row:
        return self._rows[saga_id.int]

    def __contains__(self, saga_id: object) -> bool:
        return isinstance(saga_id, uuid.UUID) and saga_id.int in self._rows

    def __len__(self) -> int:
        return len(self._rows)


class MemorySagaStorage(ISagaStorage):
    """Keeps sagas in this process's memory; lost when it exits.

    Every method runs without awaiting anything, so each is atomic for the tasks of
    one event loop. Contexts and results are copied out, as a database would, and in,
    except by `checkpoint`, which keeps the dicts it is given (the saga engine hands
    it fresh ones on every call: copying them again would double its cost).
    """

    supports_leases = True

    def __init__(self) -> None:
        # Keyed by the id's integer: hashing an int is much cheaper than a UUID.
        self._rows: dict[int, _Row] = {}

    @property
    def _sagas(self) -> _RowsById:
        # python-cqrs's examples reach in here (`storage._sagas[saga_id]["updated_at"]
        # = ...`) to make a saga look stale; keep that working.
        return _RowsById(self._rows)

    def _get(self, saga_id: uuid.UUID) -> _Row:
        try:
            return self._rows[saga_id.int]
        except KeyError:
            msg = f"Saga {saga_id} not found"
            raise ValueError(msg) from None

    async def create_saga(
        self,
        saga_id: uuid.UUID,
        name: str,
        context: dict[str, Any],
        *,
        owner: str | None = None,
        lease_seconds: float | None = None,
    ) -> None:
        if saga_id.int in self._rows:
            msg = f"Saga {saga_id} already exists"
            raise ValueError(msg)
        now = _now()
        row = self._rows[saga_id.int] = _Row(saga_id, name, _copy(context), now)
        if owner is not None and lease_seconds is not None:
            row.lease_owner = owner
            row.lease_expires_at = now + _seconds(lease_seconds)

    async def update_context(
        self,
        saga_id: uuid.UUID,
        context: dict[str, Any],
        current_version: int | None = None,
    ) -> None:
        row = self._get(saga_id)
        if current_version is not None and row.version != current_version:
            msg = (
                f"Saga {saga_id} is at version {row.version}, "
                f"not {current_version}: another writer changed it"
            )
            raise SagaConcurrencyError(msg)
        row.context = _copy(context)
        row.touch(_now())

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        row = self._get(saga_id)
        row.status = status
        row.touch(_now())

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
        row = self._get(saga_id)
        self._append(row, LogWrite(step_name, action, status, details, result), _now())

    def _append(
        self,
        row: _Row,
        log: LogWrite,
        now: datetime.datetime,
        *,
        copy: bool = True,
    ) -> None:
        result = _copy(log.result) if copy and log.result is not None else log.result
        # str(): the member's value (SagaStepStatus.__str__), or a plain string as given.
        row.logs.append((log.step_name, log.action, str(log.status), log.details, result, now))

    async def load_saga(self, saga_id: uuid.UUID) -> SagaState:
        return self._get(saga_id).state()

    async def load_saga_state(
        self,
        saga_id: uuid.UUID,
        *,
        read_for_update: bool = False,  # noqa: ARG002 - python-cqrs's; one process, no locks
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        row = self._get(saga_id)
        return row.status, _copy(row.context), row.version

    async def find_saga(self, saga_id: uuid.UUID) -> SagaState | None:
        row = self._rows.get(saga_id.int)
        return None if row is None else row.state()

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        row = self._rows.get(saga_id.int)
        return [
            SagaLogEntry(
                saga_id=saga_id,
                step_name=step_name,
                action=_ACTIONS[action],
                status=SagaStepStatus(status),
                timestamp=timestamp,
                details=details,
                result=None if result is None else _copy(result),
            )
            for step_name, action, status, details, result, timestamp in (
                row.logs if row is not None else ()
            )
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
            row
            for row in self._rows.values()
            if row.status in statuses
            and row.recovery_attempts < max_recovery_attempts
            and (cutoff is None or row.updated_at < cutoff)
            and (saga_name is None or row.name == saga_name)
        ]
        found.sort(key=lambda row: row.updated_at)
        return [row.saga_id for row in found[:limit]]

    async def increment_recovery_attempts(
        self,
        saga_id: uuid.UUID,
        new_status: SagaStatus | None = None,
    ) -> None:
        row = self._get(saga_id)
        row.recovery_attempts += 1
        if new_status is not None:
            row.status = new_status
        row.touch(_now())

    async def set_recovery_attempts(self, saga_id: uuid.UUID, attempts: int) -> None:
        row = self._get(saga_id)
        row.recovery_attempts = attempts
        row.touch(_now())

    async def acquire_lease(self, saga_id: uuid.UUID, owner: str, lease_seconds: float) -> bool:
        row = self._get(saga_id)
        now = _now()
        if row.leased_by_other(owner, now):
            return False
        row.lease_owner = owner
        row.lease_expires_at = now + _seconds(lease_seconds)
        row.touch(now)
        return True

    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        row = self._rows.get(saga_id.int)
        if row is not None and row.lease_owner == owner:
            row.lease_owner = None
            row.lease_expires_at = None
            row.touch(_now())

    def _interrupted(self, now: datetime.datetime, saga_name: str | None) -> list[_Row]:
        found = [
            row
            for row in self._rows.values()
            if row.status in _INTERRUPTED
            and (row.lease_expires_at is None or row.lease_expires_at <= now)
            and (saga_name is None or row.name == saga_name)
        ]
        found.sort(key=lambda row: row.updated_at)
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
        for row in self._interrupted(now, saga_name):
            if len(claimed) >= limit:
                break
            if row.recovery_attempts >= max_recovery_attempts:
                continue
            if cutoff is not None and row.updated_at >= cutoff:
                continue
            row.lease_owner = owner
            row.lease_expires_at = now + _seconds(lease_seconds)
            row.recovery_attempts += 1
            row.touch(now)
            claimed.append(row.saga_id)
        return claimed

    async def fail_exhausted(
        self,
        max_recovery_attempts: int,
        *,
        limit: int,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        now = _now()
        failed: list[uuid.UUID] = []
        for row in self._interrupted(now, saga_name):
            if len(failed) >= limit:
                break
            if row.recovery_attempts >= max_recovery_attempts:
                row.status = SagaStatus.FAILED
                row.lease_owner = None
                row.lease_expires_at = None
                row.touch(now)
                failed.append(row.saga_id)
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
        logs: Sequence[LogWrite] = (),
        events: Sequence[INotificationEvent[Any]] = (),
        release: bool = False,
    ) -> None:
        if events:
            msg = "MemorySagaStorage has no outbox (stores_events is False)"
            raise ValueError(msg)
        row = self._get(saga_id)
        now = _now()
        if owner is not None:
            if row.lease_owner != owner:
                msg = (
                    f"Saga {saga_id}'s lease is held by {row.lease_owner!r}, "
                    f"not {owner!r}: another runner took it over"
                )
                raise SagaConcurrencyError(msg)
            if release:
                row.lease_owner = None
                row.lease_expires_at = None
            elif lease_seconds is not None:
                row.lease_expires_at = now + _seconds(lease_seconds)
        if context is not None:
            row.context = context  # kept as given: see the class docstring
        if status is not None:
            row.status = status
        row.touch(now)
        if log is not None:
            self._append(row, log, now, copy=False)
        for line in logs:
            self._append(row, line, now, copy=False)
