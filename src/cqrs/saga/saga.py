"""`Saga`: a context type and the steps that run on it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic

from cqrs.container.protocol import Resolver
from cqrs.saga._specs import StepSpec, build_specs, generic_args
from cqrs.saga.fallback import FallbackEntry
from cqrs.saga.models import ContextT
from cqrs.saga.step import SagaStepHandler
from cqrs.saga.storage.protocol import ISagaStorage
from cqrs.saga.transaction import DEFAULT_LEASE_SECONDS, EmitEvents, SagaTransaction

__all__ = ("Saga", "SagaTransaction")


class Saga(Generic[ContextT]):
    """A saga over contexts of type `ContextT`: its `steps`, run in order.

    ```python
    class OrderSaga(Saga[OrderContext]):
        steps = [ReserveInventory, ChargePayment, Fallback(step=Ship, fallback=ShipLater)]
    ```

    Both type checkers check `steps` against the saga's context: a step class (or a
    `Fallback` pair) for another context is an error on that line. At run time the
    class is checked when it is created (`SagaStepTypeError`, naming the step and
    both context types), so unchecked code fails at import, not mid-saga.

    Class settings, optional: `saga_name` (stored with each saga and used by
    recovery to find the class; default: the class's qualified name) and `timeout`
    (seconds for one run of the whole saga; past it, the saga compensates).
    """

    # Not a ClassVar: a ClassVar cannot use ContextT, and with it the checkers check
    # each subclass's `steps = [...]` against its own context.
    steps: Sequence[type[SagaStepHandler[ContextT, Any]] | FallbackEntry[ContextT]] = ()
    saga_name: ClassVar[str | None] = None
    timeout: ClassVar[float | None] = None
    _step_specs: ClassVar[tuple[StepSpec, ...]] = ()
    _context_type: ClassVar[type[Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:  # noqa: ANN401 - passed on to object
        super().__init_subclass__(**kwargs)
        args = generic_args(cls, Saga)
        context = args[0] if args else None
        cls._context_type = context if isinstance(context, type) else None
        cls._step_specs = build_specs(cls, cls.__dict__.get("steps", cls.steps), context)

    @property
    def steps_count(self) -> int:
        return len(self._step_specs)

    @property
    def step_specs(self) -> tuple[StepSpec, ...]:
        """The steps as run: checked, each with its stable id."""
        return self._step_specs

    @property
    def name(self) -> str:
        """The name stored with each of this saga's runs."""
        return type(self).saga_name or type(self).__qualname__

    @property
    def run_timeout(self) -> float | None:
        """Seconds one run of the saga may take (the class's `timeout`)."""
        return type(self).timeout

    @classmethod
    def context_type(cls) -> type[Any] | None:
        """The context class the saga was declared with (`Saga[Ctx]`), if any."""
        return cls._context_type

    def transaction(
        self,
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
    ) -> SagaTransaction[ContextT]:
        """A run of this saga over `context` (new, or resumed when `saga_id` exists)."""
        return SagaTransaction(
            self,
            context,
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
