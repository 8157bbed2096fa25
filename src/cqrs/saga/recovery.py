"""Finishing interrupted sagas: `recover_saga` for one, `SagaRecoveryWorker` for all."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from cqrs.container.protocol import Resolver
from cqrs.saga.errors import SagaConcurrencyError, SagaRecoveredError
from cqrs.saga.models import ContextT
from cqrs.saga.saga import Saga
from cqrs.saga.storage.enums import SagaStatus
from cqrs.saga.storage.protocol import ISagaStorage
from cqrs.saga.transaction import DEFAULT_LEASE_SECONDS, EmitEvents, new_owner

__all__ = ("OnExhausted", "RecoveryReport", "SagaRecoveryWorker", "recover_saga")

_logger = logging.getLogger("cqrs.saga")


def _build_context(
    builder: type[ContextT] | Callable[[dict[str, Any]], ContextT],
    data: dict[str, Any],
) -> ContextT:
    build = typing.cast("Callable[..., ContextT]", builder)  # a class or a function of the dict
    if not isinstance(builder, type):
        return build(data)
    from_dict: Callable[[dict[str, Any]], ContextT] | None = getattr(builder, "from_dict", None)
    return from_dict(data) if from_dict is not None else build(**data)


async def recover_saga(
    saga: Saga[ContextT],
    saga_id: uuid.UUID,
    context_builder: type[ContextT] | Callable[[dict[str, Any]], ContextT],
    container: Resolver,
    storage: ISagaStorage,
    *,
    owner: str | None = None,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    emit_events: EmitEvents | None = None,
    compensation_retry_count: int = 3,
    compensation_retry_delay: float = 1.0,
    compensation_retry_backoff: float = 2.0,
    count_attempt: bool = True,
) -> None:
    """Finish the stored saga `saga_id`: resume it forward, or finish its compensation.

    The context is rebuilt from the stored one with `context_builder` (a context
    class, whose `from_dict` is used, or a function of the stored dict). A running
    saga resumes after its last completed step; a step that was started and not
    completed runs again, with a new attempt number in its idempotency key. A
    completed saga is left alone.

    Raises:
        SagaRecoveredError: the saga was compensating or failed; its compensation
            is now finished (a `RuntimeError`, as python-cqrs raises).
        SagaConcurrencyError: another runner holds the saga's lease.
        ValueError: no saga has this id.
        Exception: the error of a step that failed while resuming (the saga was
            then compensated).
    """
    state = await storage.load_saga(saga_id)
    if state.status is SagaStatus.COMPLETED:
        return
    try:
        transaction = saga.transaction(
            _build_context(context_builder, state.context),
            container,
            storage,
            saga_id,
            compensation_retry_count,
            compensation_retry_delay,
            compensation_retry_backoff,
            owner=owner,
            lease_seconds=lease_seconds,
            emit_events=emit_events,
        )
        async with transaction:
            async for result in transaction:
                _logger.info("saga %s: recovered step %s", saga_id, result.step_id)
    except (SagaRecoveredError, SagaConcurrencyError):
        raise
    except Exception:
        _logger.exception("saga %s: recovery failed", saga_id)
        if count_attempt:
            try:
                await storage.increment_recovery_attempts(saga_id)
            except Exception:  # the recovery's own error is the one to raise
                _logger.warning("saga %s: could not count the attempt", saga_id, exc_info=True)
        raise


@dataclasses.dataclass
class RecoveryReport:
    """What one pass of a recovery worker did, by saga id."""

    completed: list[uuid.UUID] = dataclasses.field(default_factory=list[uuid.UUID])
    compensated: list[uuid.UUID] = dataclasses.field(default_factory=list[uuid.UUID])
    failed: list[uuid.UUID] = dataclasses.field(default_factory=list[uuid.UUID])
    exhausted: list[uuid.UUID] = dataclasses.field(default_factory=list[uuid.UUID])

    @property
    def total(self) -> int:
        return len(self.completed) + len(self.compensated) + len(self.failed) + len(self.exhausted)


OnExhausted = Callable[[uuid.UUID], "Awaitable[None] | None"]
"""Called with the id of each saga that used up its recovery attempts."""


class SagaRecoveryWorker:
    """Finds interrupted sagas and finishes them; run one or more per storage.

    An interrupted saga is one left PENDING, RUNNING or COMPENSATING whose lease
    expired: its runner crashed, was killed, or lost its storage. Each pass leases
    up to `batch_size` of them to this worker (several workers, in one process or
    many, never get the same saga: SQL storages claim with `FOR UPDATE SKIP
    LOCKED`), counts an attempt, and recovers them, `concurrency` at a time, with
    `recover_saga`. A saga that used up `max_recovery_attempts` is marked FAILED,
    logged as an error and passed to `on_exhausted`.

    `sagas` are the saga classes this worker can run (`saga_map.values()`); each stored
    saga is matched by its `Saga.saga_name` (default: the class's qualified name).
    """

    def __init__(
        self,
        storage: ISagaStorage,
        container: Resolver,
        sagas: Iterable[type[Saga[Any]]],
        *,
        batch_size: int = 10,
        concurrency: int = 4,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_recovery_attempts: int = 5,
        stale_after_seconds: float | None = None,
        poll_interval: float = 5.0,
        emit_events: EmitEvents | None = None,
        compensation_retry_count: int = 3,
        compensation_retry_delay: float = 1.0,
        compensation_retry_backoff: float = 2.0,
        on_exhausted: OnExhausted | None = None,
    ) -> None:
        self._sagas: dict[str, type[Saga[Any]]] = {}
        for saga_type in set(sagas):
            name = saga_type.saga_name or saga_type.__qualname__
            if saga_type.context_type() is None:
                msg = (
                    f"{saga_type.__qualname__} must declare its context (Saga[Ctx]) to be recovered"
                )
                raise TypeError(msg)
            if name in self._sagas and self._sagas[name] is not saga_type:
                msg = f"two sagas are named {name!r}; give one a distinct saga_name"
                raise ValueError(msg)
            self._sagas[name] = saga_type
        if batch_size < 1 or concurrency < 1:
            msg = "batch_size and concurrency must be at least 1"
            raise ValueError(msg)
        self._storage = storage
        self._container = container
        self._batch_size = batch_size
        self._semaphore = asyncio.Semaphore(concurrency)
        self._lease_seconds = lease_seconds
        self._max_attempts = max_recovery_attempts
        self._stale_after = stale_after_seconds
        self._poll_interval = poll_interval
        self._emit_events = emit_events
        self._retry = (
            compensation_retry_count,
            compensation_retry_delay,
            compensation_retry_backoff,
        )
        self._on_exhausted = on_exhausted
        self.owner: str = new_owner()
        """This worker's name on the leases it takes."""

    async def run_once(self) -> RecoveryReport:
        """One pass: fail the exhausted sagas, then claim and recover a batch per saga class."""
        report = RecoveryReport()
        for name, saga_type in self._sagas.items():
            exhausted = await self._storage.fail_exhausted(
                self._max_attempts,
                limit=self._batch_size,
                saga_name=name,
            )
            for saga_id in exhausted:
                _logger.error(
                    "saga %s (%s) was not recovered in %d attempts; marked failed",
                    saga_id,
                    name,
                    self._max_attempts,
                )
                await self._report_exhausted(saga_id)
            report.exhausted.extend(exhausted)
            claimed = await self._storage.claim_for_recovery(
                self.owner,
                limit=self._batch_size,
                lease_seconds=self._lease_seconds,
                max_recovery_attempts=self._max_attempts,
                stale_after_seconds=self._stale_after,
                saga_name=name,
            )
            outcomes = await asyncio.gather(
                *(self._recover(saga_type, saga_id) for saga_id in claimed),
            )
            for saga_id, outcome in zip(claimed, outcomes, strict=True):
                getattr(report, outcome).append(saga_id)
        return report

    async def _report_exhausted(self, saga_id: uuid.UUID) -> None:
        if self._on_exhausted is None:
            return
        try:
            outcome = self._on_exhausted(saga_id)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            _logger.exception("on_exhausted failed for saga %s", saga_id)

    async def _recover(self, saga_type: type[Saga[Any]], saga_id: uuid.UUID) -> str:
        context_type = saga_type.context_type()
        assert context_type is not None  # noqa: S101 - checked in __init__
        count, delay, backoff = self._retry
        async with self._semaphore:
            try:
                saga = await self._container.resolve(saga_type)
                await recover_saga(
                    saga,
                    saga_id,
                    context_type,
                    self._container,
                    self._storage,
                    owner=self.owner,
                    lease_seconds=self._lease_seconds,
                    emit_events=self._emit_events,
                    compensation_retry_count=count,
                    compensation_retry_delay=delay,
                    compensation_retry_backoff=backoff,
                    count_attempt=False,
                )
            except SagaRecoveredError as recovered:
                return "failed" if recovered.failed_steps else "compensated"
            except SagaConcurrencyError:
                _logger.warning("saga %s: another runner took it over", saga_id)
                return "failed"
            except Exception:  # noqa: BLE001 - recover_saga logged it; the saga stays for the next pass or is compensated
                return "failed"
            finally:
                await self._storage.release_lease(saga_id, self.owner)
            return "completed"

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run a pass every `poll_interval` seconds (at once after a full batch) until `stop`."""
        stop = stop if stop is not None else asyncio.Event()
        while not stop.is_set():
            try:
                report = await self.run_once()
            except Exception:
                _logger.exception(
                    "saga recovery pass failed; retrying in %.1fs", self._poll_interval
                )
                report = RecoveryReport()
            if report.total >= self._batch_size:
                continue
            try:
                await asyncio.wait_for(stop.wait(), self._poll_interval)
            except asyncio.TimeoutError:
                continue
