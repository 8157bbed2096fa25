"""`SagaTransaction`: runs a saga's steps, checkpoints them, compensates on failure."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import os
import socket
import typing
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol

from typing_extensions import TypeVar

from cqrs.container.protocol import Resolver
from cqrs.events import IEvent, INotificationEvent
from cqrs.saga._records import (
    Completed,
    History,
    compensate_takes_response,
    describe,
    dump_response,
    events_of,
    is_notification,
    named,
    rebuild_response,
)
from cqrs.saga._specs import StepSpec
from cqrs.saga.errors import (
    SagaConcurrencyError,
    SagaRecoveredError,
    SagaStorageError,
    SagaTimeoutError,
)
from cqrs.saga.models import ContextT
from cqrs.saga.step import SagaStepHandler, SagaStepResult, StepRun, current_step_var
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry
from cqrs.saga.storage.protocol import ISagaStorage, LogWrite

__all__ = ("DEFAULT_LEASE_SECONDS", "EmitEvents", "SagaTransaction", "new_owner")

_logger = logging.getLogger("cqrs.saga")

DEFAULT_LEASE_SECONDS = 30.0

_T = TypeVar("_T")

EmitEvents = Callable[[Sequence[IEvent], object], Awaitable[None]]
"""Processes a step's events (the mediator's event pipeline); gets the step instance."""


_OWNERS = itertools.count(1)
_PROCESS: dict[int, str] = {}  # pid -> "<host>:<random>:<pid>", made once (after a fork too)


def new_owner() -> str:
    """A lease owner name unique to this runner: host, process, and a number."""
    pid = os.getpid()
    prefix = _PROCESS.get(pid)
    if prefix is None:
        prefix = _PROCESS[pid] = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}:{pid}"
    return f"{prefix}:{next(_OWNERS)}"


class _SagaLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def step_specs(self) -> tuple[StepSpec, ...]: ...

    @property
    def run_timeout(self) -> float | None: ...


class SagaTransaction(Generic[ContextT]):
    """One run of a saga over a context: `async with` it, then `async for` its results.

    Each step's `act` is logged STARTED, run (with its retries and timeout), and on
    success its context and result are checkpointed (logged COMPLETED) before the
    step's result is yielded. When a step fails, the steps completed so far are
    compensated in reverse order (each with `compensation_retry_count` attempts,
    waiting `compensation_retry_delay * compensation_retry_backoff**n` in between),
    the saga is marked FAILED, and the step's error is raised. A compensation that
    fails every attempt is logged and stored as FAILED, and added as a note to the
    raised error.

    When the storage fails, `SagaStorageError` is raised at once, nothing is
    compensated (nothing more could be recorded), and the saga stays as last
    stored: once its lease expires, recovery finishes it.

    A saga id that already exists is resumed: a COMPLETED saga yields nothing; a
    running one skips its completed steps; a compensating or failed one finishes
    its compensation and raises `SagaRecoveredError` (a `RuntimeError`).

    The runner holds the saga's lease (`owner`) while it runs, renewing it every
    third of `lease_seconds`; if another runner holds it, `SagaConcurrencyError` is
    raised before any step runs. Stopping early (`break`) leaves the saga RUNNING
    and releases the lease, so recovery can finish it.
    """

    def __init__(
        self,
        saga: _SagaLike,
        context: ContextT,
        container: Resolver,
        storage: ISagaStorage,
        saga_id: uuid.UUID | None = None,
        compensation_retry_count: int = 3,
        compensation_retry_delay: float = 1.0,
        compensation_retry_backoff: float = 2.0,
        *,
        owner: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        emit_events: EmitEvents | None = None,
    ) -> None:
        if compensation_retry_count < 1:
            msg = f"compensation_retry_count must be at least 1, got {compensation_retry_count}"
            raise ValueError(msg)
        self._saga = saga
        self._context = context
        self._container = container
        self._storage = storage
        self._saga_id = saga_id if saga_id is not None else uuid.uuid4()
        self._retry_count = compensation_retry_count
        self._retry_delay = compensation_retry_delay
        self._retry_backoff = compensation_retry_backoff
        self._owner = owner if owner is not None else new_owner()
        self._lease_seconds = lease_seconds
        self._emit_events = emit_events
        self._completed: list[Completed] = []
        self._compensated_ids: set[str] = set()
        self._compensated = False
        self._holding = False
        self._resumable = saga_id is not None  # a new id cannot be stored yet
        self._deadline: float | None = None
        self._beat: asyncio.TimerHandle | None = None
        self._renewal: asyncio.Future[None] | None = None

    @property
    def saga_id(self) -> uuid.UUID:
        return self._saga_id

    @property
    def context(self) -> ContextT:
        return self._context

    @property
    def completed_steps(self) -> list[str]:
        """Ids of the steps whose `act` completed, in order."""
        return [done.step_id for done in self._completed]

    async def __aenter__(self) -> SagaTransaction[ContextT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if (
            isinstance(exc, Exception)
            and not isinstance(exc, (SagaConcurrencyError, SagaStorageError))
            and not self._compensated
            and self._holding
        ):
            # The caller's loop body failed between two steps: undo what ran.
            await self._compensate(exc)
        await self._release()

    def __aiter__(self) -> AsyncIterator[SagaStepResult[ContextT, Any]]:
        return self._run()

    # -- the run ---------------------------------------------------------------------

    async def _run(self) -> AsyncGenerator[SagaStepResult[ContextT, Any], None]:
        if self._saga.run_timeout is not None:
            self._deadline = asyncio.get_running_loop().time() + self._saga.run_timeout
        plan = await self._start()
        if plan is None:
            return
        history, todo = plan
        self._schedule_heartbeat()
        try:
            for index, spec in enumerate(todo):
                following = todo[index + 1] if index + 1 < len(todo) else None
                try:
                    ran = spec
                    if spec.fallback is None:
                        result, events = await self._act(spec, history, following)
                    else:
                        result, events, ran = await self._run_fallback(spec, history, following)
                    if self._emit_events is not None and events:
                        await self._emit_events(events, result.step_type)
                except GeneratorExit:
                    raise
                except (SagaConcurrencyError, SagaStorageError):
                    # Nothing more can be recorded (or another runner owns the saga):
                    # it stays as stored, for recovery to finish once the lease expires.
                    raise
                except Exception as error:
                    await self._compensate(error)
                    raise
                yield named(result, self._saga_id, ran.step_id)
        finally:
            await self._stop_heartbeat()
            await self._release()

    async def _start(self) -> tuple[History, list[StepSpec]] | None:
        """Create the saga, or load it to resume; take its lease; record the first start.

        Returns the log and the steps left to run; None when there is nothing to do.
        """
        storage, saga_id = self._storage, self._saga_id
        state = None
        if self._resumable:
            state = await self._stored("load the saga", storage.find_saga(saga_id))
        if state is None:
            created = (
                storage.create_saga(
                    saga_id,
                    self._saga.name,
                    self._context.to_dict(),
                    owner=self._owner,
                    lease_seconds=self._lease_seconds,
                )
                if storage.supports_leases
                else storage.create_saga(saga_id, self._saga.name, self._context.to_dict())
            )
            await self._stored("create the saga", created)
            self._holding = True
            history = History(())
            todo = self._plan(history)
            await self._begin(todo, history, SagaStatus.RUNNING)
            return history, todo
        if state.status is SagaStatus.COMPLETED:
            _logger.info("saga %s is already completed", saga_id)
            return None
        await self._take_lease()
        history = History(await self._stored("read the log", storage.get_step_history(saga_id)))
        if state.status in (SagaStatus.COMPENSATING, SagaStatus.FAILED):
            self._plan(history)
            self._compensated_ids = set(history.compensated)
            failed = await self._compensate(None)
            raise SagaRecoveredError(self._saga_id, state.status.value, failed)
        todo = self._plan(history)
        await self._begin(
            todo, history, SagaStatus.RUNNING if state.status is SagaStatus.PENDING else None
        )
        return history, todo

    def _plan(self, history: History) -> list[StepSpec]:
        """The steps left to run; the completed ones go to `_completed`, in saga order."""
        todo: list[StepSpec] = []
        for spec in self._saga.step_specs:
            done = next((i for i in spec.ids() if i in history.acted), None)
            if done is None:
                todo.append(spec)
            else:
                self._completed.append(self._from_log(spec, done, history.acted[done]))
        return todo

    async def _begin(
        self,
        todo: list[StepSpec],
        history: History,
        status: SagaStatus | None,
    ) -> None:
        if not todo:  # an empty saga, or one whose last completion was recorded alone
            await self._checkpoint(status=SagaStatus.COMPLETED, release=True)
            self._holding = False
            return
        await self._checkpoint(status=status, logs=(self._started(todo[0], history),))

    def _started(self, spec: StepSpec, history: History) -> LogWrite:
        """The STARTED line of the step's next attempt (counted in `history`)."""
        attempt = history.attempts[spec.step_id] = history.attempts.get(spec.step_id, 0) + 1
        return LogWrite(spec.step_id, "act", SagaStepStatus.STARTED, f"attempt {attempt}")

    async def _stored(self, what: str, call: Awaitable[_T]) -> _T:
        """Await a storage call; its failure becomes a `SagaStorageError` saying what failed."""
        try:
            return await call
        except (ValueError, SagaConcurrencyError):  # answers, not failures
            raise
        except Exception as error:
            msg = f"saga {self._saga_id}: the storage could not {what}: {error!r}"
            raise SagaStorageError(msg) from error

    async def _take_lease(self) -> None:
        lease = self._storage.acquire_lease(self._saga_id, self._owner, self._lease_seconds)
        if not await self._stored("take the lease", lease):
            msg = f"saga {self._saga_id} is being run by another runner (its lease is held)"
            raise SagaConcurrencyError(msg)
        self._holding = True

    def _from_log(self, spec: StepSpec, step_id: str, entry: SagaLogEntry) -> Completed:
        handler = spec.handler
        if spec.fallback is not None and step_id == spec.fallback.step_id:
            handler = spec.fallback.handler
        return Completed(step_id, handler, None, rebuild_response(handler, entry.result))

    # -- the lease -------------------------------------------------------------------

    def _schedule_heartbeat(self) -> None:
        # A timer rather than a task per saga: most sagas end before the first renewal.
        loop = asyncio.get_running_loop()
        self._beat = loop.call_later(self._lease_seconds / 3, self._beat_now)

    def _beat_now(self) -> None:
        self._beat = None
        self._renewal = asyncio.ensure_future(self._renew())

    async def _renew(self) -> None:
        try:
            await self._storage.checkpoint(
                self._saga_id,
                owner=self._owner,
                lease_seconds=self._lease_seconds,
            )
        except SagaConcurrencyError:
            _logger.error("saga %s: lost its lease to another runner", self._saga_id)  # noqa: TRY400 - expected
            return
        except Exception:
            _logger.warning("saga %s: could not renew its lease", self._saga_id, exc_info=True)
        if self._holding:
            self._schedule_heartbeat()

    async def _stop_heartbeat(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None
        renewal, self._renewal = self._renewal, None
        if renewal is not None and not renewal.done():
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _checkpoint(
        self,
        *,
        context: dict[str, Any] | None = None,
        status: SagaStatus | None = None,
        log: LogWrite | None = None,
        logs: Sequence[LogWrite] = (),
        events: Sequence[INotificationEvent[Any]] = (),
        release: bool = False,
    ) -> None:
        try:
            await self._storage.checkpoint(
                self._saga_id,
                owner=self._owner,
                lease_seconds=self._lease_seconds,
                context=context,
                status=status,
                log=log,
                logs=logs,
                events=events,
                release=release,
            )
        except (ValueError, SagaConcurrencyError):
            raise
        except Exception as error:
            first = log if log is not None else (logs[0] if logs else None)
            what = (
                f"{first.step_name} {first.action} {first.status.value}"
                if first is not None
                else "the status"
            )
            msg = f"saga {self._saga_id}: the storage could not record {what}: {error!r}"
            raise SagaStorageError(msg) from error

    async def _release(self) -> None:
        if not self._holding:
            return
        self._holding = False
        try:
            await self._storage.release_lease(self._saga_id, self._owner)
        except Exception:  # the lease expires on its own
            _logger.warning("saga %s: could not release its lease", self._saga_id, exc_info=True)

    # -- steps -----------------------------------------------------------------------

    async def _run_fallback(
        self,
        spec: StepSpec,
        history: History,
        following: StepSpec | None,
    ) -> tuple[SagaStepResult[ContextT, Any], Sequence[IEvent], StepSpec]:
        """Run a `Fallback` entry: its step, or on failure its fallback; say which ran."""
        assert spec.fallback is not None  # noqa: S101 - only called for Fallback entries
        assert spec.entry is not None  # noqa: S101 - as above
        snapshot = self._context.to_dict()
        try:
            result, events = await self._act(
                spec, history, following, breaker=spec.entry.circuit_breaker
            )
        except Exception as error:
            if not spec.entry.should_fall_back(error):
                raise
            _logger.warning(
                "saga %s: step %s failed (%r), running its fallback %s",
                self._saga_id,
                spec.step_id,
                error,
                spec.fallback.step_id,
            )
            self._restore(snapshot)
            result, events = await self._act(spec.fallback, history, following, started=False)
            return result, events, spec.fallback
        return result, events, spec

    def _restore(self, snapshot: dict[str, Any]) -> None:
        restored = type(self._context).from_dict(snapshot)
        for field in dataclasses.fields(self._context):
            setattr(self._context, field.name, getattr(restored, field.name))

    async def _act(
        self,
        spec: StepSpec,
        history: History,
        following: StepSpec | None,
        *,
        breaker: Any = None,  # noqa: ANN401 - an ICircuitBreaker; checked by Fallback's type
        started: bool = True,
    ) -> tuple[SagaStepResult[ContextT, Any], Sequence[IEvent]]:
        """Run the step's `act` with its retries; record it completed (and `following` started).

        `started`: the STARTED line of the first attempt was written already (with
        the previous step's completion, or with the saga's start).
        """
        handler = spec.handler
        retry = handler.retry
        attempts = retry.attempts if retry is not None else 1
        instance = await self._container.resolve(handler)
        for attempt_in_run in range(1, attempts + 1):
            if not started:
                await self._checkpoint(logs=(self._started(spec, history),))
            attempt = history.attempts[spec.step_id]
            token = current_step_var.set(StepRun(self._saga_id, spec.step_id, attempt, "act"))
            try:
                if breaker is None and handler.timeout is None and self._deadline is None:
                    result: object = await instance.act(self._context)  # the common case, direct
                else:
                    result = await self._call_act(instance, handler, breaker)
            except Exception as error:
                failed = LogWrite(spec.step_id, "act", SagaStepStatus.FAILED, describe(error))
                retrying = (
                    retry is not None
                    and attempt_in_run < attempts
                    and retry.retries(error)
                    and not (isinstance(error, SagaTimeoutError) and self._saga_deadline_passed())
                )
                if not retrying:
                    await self._checkpoint(log=failed)
                    raise
                assert retry is not None  # noqa: S101 - `retrying` implies it
                # The failure and the next attempt's start, in one write.
                await self._checkpoint(log=failed, logs=(self._started(spec, history),))
                started = True
                delay = retry.wait(attempt_in_run)
                _logger.warning(
                    "saga %s: step %s attempt %d failed (%r); retrying in %.2fs",
                    self._saga_id,
                    spec.step_id,
                    attempt,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            finally:
                current_step_var.reset(token)
            if not isinstance(result, SagaStepResult):
                msg = (
                    f"{handler.__qualname__}.act returned {type(result).__qualname__}, "
                    "not a SagaStepResult (return self._generate_step_result(response))"
                )
                await self._checkpoint(
                    log=LogWrite(spec.step_id, "act", SagaStepStatus.FAILED, msg),
                )
                raise TypeError(msg)
            step_result = typing.cast("SagaStepResult[ContextT, Any]", result)
            events = events_of(instance)
            stored: tuple[INotificationEvent[Any], ...] = ()
            if self._storage.stores_events:
                # Committed with the step's completion, through the storage's outbox.
                stored = tuple(e for e in events if is_notification(e))
                events = tuple(e for e in events if not is_notification(e))
            # One write: this step completed, and the next one started (or the saga
            # completed, its lease released).
            await self._checkpoint(
                context=self._context.to_dict(),
                log=LogWrite(
                    spec.step_id,
                    "act",
                    SagaStepStatus.COMPLETED,
                    result=dump_response(step_result.response),
                ),
                logs=() if following is None else (self._started(following, history),),
                status=SagaStatus.COMPLETED if following is None else None,
                events=stored,
                release=following is None,
            )
            if following is None:
                self._holding = False
            self._completed.append(
                Completed(spec.step_id, handler, instance, step_result.response),
            )
            return step_result, events
        msg = "unreachable: the last attempt returns or raises"  # pragma: no cover
        raise AssertionError(msg)  # pragma: no cover

    def _saga_deadline_passed(self) -> bool:
        return self._deadline is not None and asyncio.get_running_loop().time() >= self._deadline

    async def _call_act(
        self,
        instance: SagaStepHandler[Any, Any],
        handler: type[SagaStepHandler[Any, Any]],
        breaker: Any,  # noqa: ANN401 - see _act
    ) -> object:
        timeout = handler.timeout
        if self._deadline is not None:
            remaining = self._deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                msg = f"saga {self._saga_id} ran past its timeout before {handler.__qualname__}"
                raise SagaTimeoutError(msg)
            timeout = remaining if timeout is None else min(timeout, remaining)
        call: Awaitable[object] = (
            instance.act(self._context)
            if breaker is None
            else breaker.call(handler, instance.act, self._context)
        )
        if timeout is None:
            return await call
        try:
            return await asyncio.wait_for(call, timeout)
        except asyncio.TimeoutError:
            msg = f"{handler.__qualname__}.act took longer than {timeout:.3g}s"
            raise SagaTimeoutError(msg) from None

    # -- compensation -----------------------------------------------------------------

    async def _compensate(self, error: BaseException | None) -> list[str]:
        """Compensate the completed steps, newest first; return the ids that failed.

        All compensated: FAILED. Some failed every attempt: the saga stays
        COMPENSATING, so a recovery worker retries them once its lease expires (and
        marks it FAILED, reported, after its maximum of attempts).
        """
        self._compensated = True
        await self._checkpoint(status=SagaStatus.COMPENSATING)
        failures: list[tuple[str, Exception]] = []
        for done in reversed(self._completed):
            if done.step_id in self._compensated_ids:
                continue
            failure = await self._compensate_step(done)
            if failure is None:
                self._compensated_ids.add(done.step_id)
            else:
                failures.append((done.step_id, failure))
        if not failures:
            await self._checkpoint(status=SagaStatus.FAILED, release=True)
            self._holding = False
        for step_id, failure in failures:
            _logger.error(
                "saga %s: compensation of step %s failed %d times; the last error: %r",
                self._saga_id,
                step_id,
                self._retry_count,
                failure,
                exc_info=failure,
            )
            if error is not None and hasattr(error, "add_note"):
                error.add_note(f"compensation of step {step_id} failed: {failure!r}")
        return [step_id for step_id, _ in failures]

    async def _compensate_step(self, done: Completed) -> Exception | None:
        await self._checkpoint(
            log=LogWrite(done.step_id, "compensate", SagaStepStatus.STARTED),
        )
        last: Exception | None = None
        for attempt in range(1, self._retry_count + 1):
            token = current_step_var.set(
                StepRun(self._saga_id, done.step_id, attempt, "compensate")
            )
            try:
                instance = done.instance
                if instance is None:
                    instance = done.instance = await self._container.resolve(done.handler)
                if compensate_takes_response(done.handler):
                    await instance.compensate(self._context, response=done.response)  # type: ignore[call-arg]  # checked just above
                else:
                    await instance.compensate(self._context)
            except Exception as failure:  # noqa: BLE001 - every failure is retried, then reported
                last = failure
                _logger.warning(
                    "saga %s: compensation of step %s, attempt %d of %d, failed: %r",
                    self._saga_id,
                    done.step_id,
                    attempt,
                    self._retry_count,
                    failure,
                )
                if attempt < self._retry_count:
                    await asyncio.sleep(self._retry_delay * self._retry_backoff ** (attempt - 1))
                continue
            finally:
                current_step_var.reset(token)
            await self._checkpoint(
                context=self._context.to_dict(),
                log=LogWrite(done.step_id, "compensate", SagaStepStatus.COMPLETED),
            )
            return None
        await self._checkpoint(
            log=LogWrite(done.step_id, "compensate", SagaStepStatus.FAILED, describe(last)),
        )
        return last
