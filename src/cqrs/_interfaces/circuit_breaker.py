"""The circuit-breaker protocol that handler fallbacks call their primary handler through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeAlias

from typing_extensions import ParamSpec, TypeVar

__all__ = ("CircuitIdentifier", "ICircuitBreaker")

_P = ParamSpec("_P")
_T = TypeVar("_T")

CircuitIdentifier: TypeAlias = "type[object] | str"
"""What names a circuit: fallbacks pass the primary handler's class."""


class ICircuitBreaker(Protocol):
    """Runs calls through one circuit per identifier, and recognises its own refusals.

    A fallback calls its primary handler through `call`, with the handler class as the
    identifier. While that circuit is open, `call` raises without calling `func`, and
    `is_circuit_breaker_error` of that exception is true: the fallback then runs at
    once. `cqrs.adapters.circuit_breaker.PurgatoryCircuitBreaker` is the one shipped
    (extra `circuit-breaker`); any object with these two methods works.
    """

    async def call(
        self,
        identifier: CircuitIdentifier,
        func: Callable[_P, Awaitable[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Await `func(*args, **kwargs)` through the circuit named by `identifier`."""
        ...

    def is_circuit_breaker_error(self, exc: BaseException, /) -> bool:
        """Whether `exc` is this breaker refusing a call because its circuit is open."""
        ...
