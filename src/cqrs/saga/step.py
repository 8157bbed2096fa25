"""`SagaStepHandler`, the unit of a saga, and `SagaStepResult`, what its `act` returns."""

from __future__ import annotations

import abc
import contextvars
import dataclasses
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple

from typing_extensions import TypeVar

from cqrs.events import IEvent
from cqrs.response import IResponse
from cqrs.saga.models import SagaContext

if TYPE_CHECKING:
    from cqrs.saga.retry import Retry

__all__ = ("Resp", "SagaStepHandler", "SagaStepResult", "StepRun", "current_step")

_Ctx_contra = TypeVar("_Ctx_contra", bound=SagaContext, contravariant=True)
_Ctx_co = TypeVar("_Ctx_co", bound=SagaContext, covariant=True)
_Resp_co = TypeVar("_Resp_co", bound="IResponse | None", covariant=True)

Resp = TypeVar("Resp", bound="IResponse | None")
"""A step's response type."""


@dataclasses.dataclass(frozen=True, init=False)
class SagaStepResult(Generic[_Ctx_co, _Resp_co]):
    """What a step's `act` returned, as the saga's stream yields it.

    `step_type` is the class that ran (a fallback's class when the fallback ran),
    `step_id` its id in the saga, `saga_id` the saga's. The `with_error` and
    `error_*` fields exist for python-cqrs code; a failing step raises instead.
    Immutable (a frozen dataclass).
    """

    response: _Resp_co
    step_type: type[SagaStepHandler[Any, Any]]
    with_error: bool = False
    error_message: str | None = None
    error_traceback: list[str] | None = None
    error_type: type[Exception] | None = None
    saga_id: uuid.UUID | None = None
    step_id: str | None = None

    def __init__(
        self,
        response: _Resp_co,
        step_type: type[SagaStepHandler[Any, Any]],
        with_error: bool = False,  # noqa: FBT001, FBT002 - python-cqrs's field
        error_message: str | None = None,
        error_traceback: list[str] | None = None,
        error_type: type[Exception] | None = None,
        saga_id: uuid.UUID | None = None,
        step_id: str | None = None,
    ) -> None:
        # One dict update instead of the frozen dataclass's eight object.__setattr__
        # calls: a result is made for every step of every saga.
        self.__dict__.update(
            response=response,
            step_type=step_type,
            with_error=with_error,
            error_message=error_message,
            error_traceback=error_traceback,
            error_type=error_type,
            saga_id=saga_id,
            step_id=step_id,
        )


class StepRun(NamedTuple):
    """The saga, step and attempt an `act` or `compensate` call belongs to.

    `idempotency_key` (`"<saga id>:<step id>:<attempt>"`) is unique per attempt: a
    side effect keyed by it (a payment, an e-mail) is not repeated when the same
    attempt is replayed, and a retry or a recovery starts a new attempt.
    """

    saga_id: uuid.UUID
    step_id: str
    attempt: int
    action: str

    @property
    def idempotency_key(self) -> str:
        """`"<saga id>:<step id>:<attempt>"`."""
        return f"{self.saga_id}:{self.step_id}:{self.attempt}"


# The step call running in this task; the engine sets it around each call.
current_step_var: contextvars.ContextVar[StepRun] = contextvars.ContextVar("cqrs_saga_step")


def current_step() -> StepRun:
    """The step call running in this task (call it inside `act` or `compensate`).

    Raises `LookupError` outside a saga step.
    """
    try:
        return current_step_var.get()
    except LookupError:
        msg = "current_step() is only available inside a saga step's act or compensate"
        raise LookupError(msg) from None


class SagaStepHandler(abc.ABC, Generic[_Ctx_contra, Resp]):
    """One step of a saga: `act` moves it forward, `compensate` undoes it.

    Type parameters: the context type the step works on (a saga of that context or
    of a subclass of it can use the step) and the response `act` returns. Steps are
    built by the container, so dependencies come through `__init__`.

    Class settings, all optional:
        step_id: the id stored in the saga's log (default: the class's qualified
            name). Keep it stable: recovery matches stored steps by it.
        retry: a `cqrs.saga.retry.Retry` for `act` (default: no retry).
        timeout: seconds one `act` attempt may take; past it the step fails.

    `compensate` may take a second parameter, `response`: it then receives what
    this step's `act` returned (rebuilt from the saga's log after a recovery).
    """

    step_id: ClassVar[str | None] = None
    retry: ClassVar[Retry | None] = None
    timeout: ClassVar[float | None] = None

    @property
    def events(self) -> Sequence[IEvent]:
        """Events raised by the last `act`, processed after the step completes."""
        return ()

    @abc.abstractmethod
    async def act(self, context: _Ctx_contra) -> SagaStepResult[_Ctx_contra, Resp]:
        """Do the step's work, update the context, return `self._generate_step_result(...)`."""

    @abc.abstractmethod
    async def compensate(self, context: _Ctx_contra) -> None:
        """Undo what `act` did. Should be idempotent: it can be retried."""

    def _generate_step_result(
        self,
        response: Resp,
        with_error: bool = False,  # noqa: FBT001, FBT002 - python-cqrs signature
        error_message: str | None = None,
        error_traceback: list[str] | None = None,
        error_type: type[Exception] | None = None,
    ) -> SagaStepResult[_Ctx_contra, Resp]:
        """Wrap `response` in a `SagaStepResult` naming this step's class."""
        return SagaStepResult(
            response=response,
            step_type=type(self),
            with_error=with_error,
            error_message=error_message,
            error_traceback=error_traceback,
            error_type=error_type,
        )
