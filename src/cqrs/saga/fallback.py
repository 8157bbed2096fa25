"""`Fallback`: a step with a replacement that runs when it fails."""

from __future__ import annotations

import dataclasses
from typing import Generic

from typing_extensions import TypeVar

from cqrs.circuit_breaker import ICircuitBreaker
from cqrs.response import IResponse
from cqrs.saga.models import SagaContext
from cqrs.saga.step import SagaStepHandler

__all__ = ("Fallback", "FallbackEntry")

_Ctx_contra = TypeVar("_Ctx_contra", bound=SagaContext, contravariant=True)
_RespT = TypeVar("_RespT", bound="IResponse | None")


class FallbackEntry(Generic[_Ctx_contra]):
    """A `Fallback` seen by a saga's `steps`: only its context type.

    `Saga.steps` is typed with this base, not with `Fallback[Ctx, Any]`: an expected
    `Any` response would let the checkers solve a pair with two different responses.
    """

    __slots__ = ()


@dataclasses.dataclass(frozen=True)
class Fallback(FallbackEntry[_Ctx_contra], Generic[_Ctx_contra, _RespT]):
    """Run `step`; if it fails, undo its context changes and run `fallback` instead.

    Both steps take the same context and return the same response type (the type
    checkers reject a pair that does not). The fallback runs when `step` raises one
    of `failure_exceptions` (any exception when empty) or when `circuit_breaker`
    refuses the call because `step`'s circuit is open; `step` runs through the
    breaker, with its class as the circuit's identifier. Only the step that
    completed is compensated.
    """

    step: type[SagaStepHandler[_Ctx_contra, _RespT]]
    fallback: type[SagaStepHandler[_Ctx_contra, _RespT]]
    failure_exceptions: tuple[type[Exception], ...] = ()
    circuit_breaker: ICircuitBreaker | None = None

    def should_fall_back(self, error: Exception) -> bool:
        """Whether `error` from `step` (or from the breaker) triggers the fallback."""
        if self.circuit_breaker is not None and self.circuit_breaker.is_circuit_breaker_error(
            error,
        ):
            return True
        return not self.failure_exceptions or isinstance(error, self.failure_exceptions)
