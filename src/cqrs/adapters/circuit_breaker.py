"""A circuit breaker for handler fallbacks, backed by `purgatory`.

Needs the `circuit-breaker` extra (`pip install "cqrs-typed[circuit-breaker]"`);
`import cqrs` never imports purgatory, only this module does.

`PurgatoryCircuitBreaker` implements `cqrs.circuit_breaker.ICircuitBreaker`. It keeps
one circuit per identifier (a handler class, or any string) and moves each circuit
through three states:

- closed: calls go through; `fail_max` failures in a row open the circuit.
- open: calls are refused at once with `purgatory.domain.model.OpenedState`, without
  calling the function, until `timeout_duration` seconds have passed.
- half-open: once `timeout_duration` has passed, the next call goes through as the
  one trial call; until it ends, every other call of that circuit is refused with
  `OpenedState`, as if the circuit were still open, so its fallback runs. The trial's
  success closes the circuit; its failure (a cancellation included) opens it again for
  another `timeout_duration`, after which the next call is the next trial.

purgatory itself lets every call through while a circuit is half-open; this adapter
adds the one-trial rule. It holds within a process, for the adapters that share a `uow`
object: with a Redis `uow` shared by several processes, each process may send one trial.

`AioBreakerAdapter` is the same breaker under the name python-cqrs uses, so code that
imports `cqrs.adapters.circuit_breaker.AioBreakerAdapter` keeps working.

Example:
    >>> import asyncio
    >>> breaker = PurgatoryCircuitBreaker(fail_max=3, timeout_duration=30)
    >>> async def stock_level(sku: str, *, warehouse: str) -> int:
    ...     return 7
    >>> asyncio.run(breaker.call("inventory", stock_level, "A-1", warehouse="north"))
    7
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, cast

from typing_extensions import Never, ParamSpec, TypeVar

from cqrs.circuit_breaker import CircuitIdentifier
from cqrs.exceptions import InvalidConfigurationError

try:
    import purgatory
    from purgatory.domain.model import CLOSED, Context, ExcludeType, OpenedState
    from purgatory.service._async.circuitbreaker import AsyncCircuitBreaker
except ImportError as _missing:
    _msg = (
        "cqrs.adapters.circuit_breaker needs purgatory, which is not installed: "
        'pip install "cqrs-typed[circuit-breaker]"'
    )
    raise ImportError(_msg, name=_missing.name) from _missing

__all__ = ("AioBreakerAdapter", "PurgatoryCircuitBreaker")

_P = ParamSpec("_P")
_T = TypeVar("_T")


class PurgatoryCircuitBreaker:
    """One purgatory circuit per identifier, for fallbacks to call their primary through.

    Each instance owns its own `purgatory.AsyncCircuitBreakerFactory`, so two instances
    never share a circuit unless they are given the same `uow`.

    Half-open means one trial call: when `timeout_duration` has passed, the first call
    is let through to `func`, and until it ends every other call of that circuit is
    refused with `OpenedState` (so a fallback serves it) instead of reaching a service
    that may still be down. The trial's success closes the circuit, and calls go
    through again; its failure opens it again for another `timeout_duration`. A trial
    that is cancelled counts as failed, as cancellation does in every state: the circuit
    opens again and the trial's place is freed, so the next timeout brings a new trial.
    Other circuits are not held back by a trial, and a closed circuit lets any number of
    concurrent calls through. Adapters given the same `uow` object share their trials;
    processes sharing a Redis `uow` do not, so each may send one trial.

    Args:
        fail_max: failures in a row that open a closed circuit (at least 1).
        timeout_duration: seconds a circuit stays open before the next call is let
            through as the one half-open trial (a positive, finite number).
        exclude: exception classes (and their subclasses) that do not count as
            failures, such as business errors. purgatory counts an excluded exception
            as a success: it resets the failure count and closes a half-open circuit.
            Every other exception from the function counts, including
            `asyncio.CancelledError`.
        uow: where purgatory keeps circuit state. `None` (the default) keeps it in
            memory, private to this instance; `purgatory.AsyncRedisUnitOfWork(url)`
            shares it between processes (needs purgatory's `redis` extra).

    Raises:
        InvalidConfigurationError: an argument is out of range or of the wrong kind.

    Example:
        ```python
        import purgatory

        from cqrs.adapters.circuit_breaker import PurgatoryCircuitBreaker

        breaker = PurgatoryCircuitBreaker(
            fail_max=3,
            timeout_duration=30,
            exclude=[OutOfStockError],  # a business answer, not an outage
            uow=purgatory.AsyncRedisUnitOfWork("redis://localhost:6379/0"),
        )
        level = await breaker.call(InventoryHandler, inventory.stock_level, "A-1")
        ```
    """

    def __init__(
        self,
        *,
        fail_max: int = 5,
        timeout_duration: float = 60,
        exclude: Sequence[type[BaseException]] = (),
        uow: purgatory.AsyncAbstractUnitOfWork | None = None,
    ) -> None:
        self._fail_max: Final = _checked_fail_max(fail_max)
        self._timeout_duration: Final = _checked_timeout(timeout_duration)
        self._exclude: Final = _checked_exclude(exclude)
        excluded: ExcludeType = [*self._exclude]
        self._factory: Final = purgatory.AsyncCircuitBreakerFactory(
            default_threshold=self._fail_max,
            default_ttl=self._timeout_duration,
            exclude=excluded,
            uow=_checked_uow(uow),
        )
        self._trials: Final = _trials_of(self._factory.uow)
        self._initialized = False
        self._initializing: Final = asyncio.Lock()

    @property
    def fail_max(self) -> int:
        """Failures in a row that open a closed circuit."""
        return self._fail_max

    @property
    def timeout_duration(self) -> float:
        """Seconds a circuit stays open before a half-open trial call is let through."""
        return self._timeout_duration

    @property
    def exclude(self) -> tuple[type[BaseException], ...]:
        """Exception classes that do not count as failures."""
        return self._exclude

    @property
    def factory(self) -> purgatory.AsyncCircuitBreakerFactory:
        """The purgatory factory behind this breaker, e.g. to `add_listener` a hook."""
        return self._factory

    @staticmethod
    def circuit_name(identifier: CircuitIdentifier, /) -> str:
        """The name of the circuit `identifier` selects.

        A class gives `"<module>.<qualname>"`; a string is the name itself, so
        `"app.handlers.InventoryHandler"` and the class it names share one circuit.

        Example:
            >>> PurgatoryCircuitBreaker.circuit_name("inventory")
            'inventory'
            >>> PurgatoryCircuitBreaker.circuit_name(PurgatoryCircuitBreaker)
            'cqrs.adapters.circuit_breaker.PurgatoryCircuitBreaker'
        """
        if isinstance(identifier, str):
            return identifier
        return f"{identifier.__module__}.{identifier.__qualname__}"

    async def call(
        self,
        identifier: CircuitIdentifier,
        func: Callable[_P, Awaitable[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Await `func(*args, **kwargs)` through the circuit named by `identifier`.

        Args:
            identifier: the circuit: a handler class or a string (see `circuit_name`).
            func: the coroutine function to call.
            *args: positional arguments for `func`.
            **kwargs: keyword arguments for `func`.

        Returns:
            What `func` returns.

        Raises:
            purgatory.domain.model.OpenedState: the circuit is open, or half-open with
                its trial call still running; `func` was not called and
                `is_circuit_breaker_error` of this exception is true. Each refusal
                raises a new instance, so refusals never share a traceback.
            BaseException: whatever `func` raises, unchanged (the same object).
        """
        await self._ensure_initialized()
        name = self.circuit_name(identifier)
        trial = self._trials.get(name)
        if trial is None:
            trial = self._trials[name] = _Trial()
        breaker = await self._load(name, trial)
        # From here to `async with` nothing awaits: no other call of this event loop can
        # look at the circuit or claim its trial in between.
        context = breaker.context
        claims = context.state != CLOSED  # open or half-open: a trial if let in
        if claims:
            if trial.running:
                raise _refusal_during_trial(context)
            trial.running = True
        entered = False
        try:
            async with breaker:
                entered = True
                return await func(*args, **kwargs)
        except OpenedState as opened:
            if entered:  # raised by func itself (say, an inner breaker): not ours
                raise
            refusal = _detached_refusal(opened)
        finally:
            if claims:  # the outcome is stored by now: the next trial may start
                trial.running = False
                if entered:
                    trial.ended += 1
        raise refusal

    def is_circuit_breaker_error(self, exc: BaseException, /) -> bool:
        """Whether `exc` is purgatory refusing a call because its circuit is open.

        Example:
            >>> PurgatoryCircuitBreaker().is_circuit_breaker_error(TimeoutError())
            False
        """
        return isinstance(exc, OpenedState)

    async def _load(self, name: str, trial: _Trial) -> AsyncCircuitBreaker:
        """The breaker of circuit `name`, with state no older than the last trial's end.

        With Redis, each load reads its own copy of the circuit. A copy read while a
        trial ran, but looked at after that trial ended, shows the circuit as it was
        before the trial (open, its timeout passed): it would be taken for a new trial.
        """
        while True:
            ended = trial.ended
            breaker = await self._factory.get_breaker(name)
            if trial.ended == ended:
                return breaker

    async def _ensure_initialized(self) -> None:
        """Run the factory's `initialize()` (which connects a Redis `uow`) once."""
        if self._initialized:
            return
        async with self._initializing:
            if not self._initialized:
                await self._factory.initialize()
                self._initialized = True

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(fail_max={self._fail_max!r}, "
            f"timeout_duration={self._timeout_duration!r}, "
            f"exclude={list(self._exclude)!r})"
        )


class AioBreakerAdapter(PurgatoryCircuitBreaker):
    """`PurgatoryCircuitBreaker` under the name and arguments python-cqrs uses.

    It is backed by purgatory, not aiobreaker. `fail_max`, `timeout_duration` (in
    seconds) and `exclude` mean what they mean for `PurgatoryCircuitBreaker`, and may
    be passed by position as python-cqrs allows; `exclude=None` means no exclusions.
    python-cqrs's `storage_factory` is not supported: pass `uow` (a purgatory unit of
    work) to choose where circuit state is kept.

    Raises:
        TypeError: `storage_factory` or another unknown keyword argument was passed.
        InvalidConfigurationError: an argument is out of range or of the wrong kind.

    Example:
        ```python
        from cqrs.adapters.circuit_breaker import AioBreakerAdapter

        request_cb = AioBreakerAdapter(fail_max=5, timeout_duration=60, exclude=[NotFound])
        ```
    """

    def __init__(
        self,
        fail_max: int = 5,
        timeout_duration: float = 60,
        exclude: Sequence[type[BaseException]] | None = None,
        *,
        uow: purgatory.AsyncAbstractUnitOfWork | None = None,
        **unsupported: Never,
    ) -> None:
        if "storage_factory" in unsupported:
            msg = (
                "AioBreakerAdapter is backed by purgatory and does not take "
                "storage_factory; pass uow= (a purgatory.AsyncAbstractUnitOfWork such as "
                "purgatory.AsyncRedisUnitOfWork(url)) to choose where circuit state is kept"
            )
            raise TypeError(msg)
        if unsupported:
            msg = f"AioBreakerAdapter() got unexpected keyword arguments: {sorted(unsupported)}"
            raise TypeError(msg)
        super().__init__(
            fail_max=fail_max,
            timeout_duration=timeout_duration,
            exclude=() if exclude is None else exclude,
            uow=uow,
        )


# --- helpers ------------------------------------------------------------------------


class _Trial:
    """The half-open trial of one circuit, which purgatory does not keep track of."""

    __slots__ = ("ended", "running")

    def __init__(self) -> None:
        self.running = False  # a call let through by a non-closed circuit is running
        self.ended = 0  # how many such calls have ended: loads older than that are stale


_TRIALS: Final[weakref.WeakKeyDictionary[purgatory.AsyncAbstractUnitOfWork, dict[str, _Trial]]] = (
    weakref.WeakKeyDictionary()
)
"""The trials of the circuits kept in each unit of work, for adapters that share one."""


def _trials_of(uow: purgatory.AsyncAbstractUnitOfWork) -> dict[str, _Trial]:
    try:
        return _TRIALS.setdefault(uow, {})
    except TypeError:  # a unit of work that cannot be weakly referenced or hashed
        return {}


def _refusal_during_trial(context: Context) -> OpenedState:
    """What a call gets while its circuit's trial runs: the refusal of an open circuit."""
    refusal = OpenedState(context.name)
    if context.opened_at is not None:
        refusal.opened_at = context.opened_at
    return refusal


def _detached_refusal(opened: OpenedState) -> OpenedState:
    """A fresh copy of purgatory's refusal, and the stored original cleaned up.

    purgatory raises the circuit's stored state object itself on every refusal. Each
    raise chains the new frames onto that one object's `__traceback__` (and sets its
    `__context__`), which would keep every refused caller's frames alive for as long
    as the circuit stays open. So the stored object is cleared, and a copy is raised.
    """
    opened.__traceback__ = None
    opened.__context__ = None
    refusal = OpenedState(opened.circuit_name)
    refusal.opened_at = opened.opened_at
    return refusal


# The checkers take `object`: callers may be untyped, so the types are checked at run time.


def _checked_fail_max(fail_max: object) -> int:
    if isinstance(fail_max, bool) or not isinstance(fail_max, int) or fail_max < 1:
        msg = f"fail_max must be an integer of at least 1, got {fail_max!r}"
        raise InvalidConfigurationError(msg)
    return fail_max


def _checked_timeout(timeout_duration: object) -> float:
    if (
        isinstance(timeout_duration, bool)
        or not isinstance(timeout_duration, (int, float))
        or not 0 < timeout_duration < math.inf  # also rules out NaN
    ):
        msg = (
            "timeout_duration must be a positive, finite number of seconds, "
            f"got {timeout_duration!r}"
        )
        raise InvalidConfigurationError(msg)
    return float(timeout_duration)


def _checked_exclude(exclude: object) -> tuple[type[BaseException], ...]:
    if isinstance(exclude, (type, str, bytes)) or not isinstance(exclude, Sequence):
        msg = f"exclude must be a sequence of exception classes, got {exclude!r}"
        raise InvalidConfigurationError(msg)
    # isinstance cannot check the item type; every item is checked below.
    entries = cast("Sequence[object]", exclude)
    classes: list[type[BaseException]] = []
    for entry in entries:
        if not (isinstance(entry, type) and issubclass(entry, BaseException)):
            msg = f"exclude must contain only exception classes, got {entry!r} in {exclude!r}"
            raise InvalidConfigurationError(msg)
        classes.append(entry)
    return tuple(classes)


def _checked_uow(uow: object) -> purgatory.AsyncAbstractUnitOfWork | None:
    if uow is not None and not isinstance(uow, purgatory.AsyncAbstractUnitOfWork):
        msg = (
            "uow must be a purgatory.AsyncAbstractUnitOfWork (for example "
            f"purgatory.AsyncRedisUnitOfWork(url)), got {uow!r}"
        )
        raise InvalidConfigurationError(msg)
    return uow
