"""`cqrs.adapters.circuit_breaker`: the purgatory-backed circuit breaker, run for real.

Time is controlled by replacing the `time` module that purgatory's state model reads
(`purgatory.domain.model.time`), never by sleeping.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Protocol

import di
import purgatory
import purgatory.domain.model as purgatory_model
import pytest
from purgatory.domain.messages import Message
from purgatory.service._async.repository import AsyncAbstractRepository, AsyncRedisRepository

import cqrs
from cqrs.adapters.circuit_breaker import AioBreakerAdapter, PurgatoryCircuitBreaker
from cqrs.circuit_breaker import ICircuitBreaker
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.requests import bootstrap

# --- static: the adapters satisfy the protocol (checked by mypy and pyright) ----------

_STATIC_PURGATORY: ICircuitBreaker = PurgatoryCircuitBreaker()
_STATIC_AIOBREAKER: ICircuitBreaker = AioBreakerAdapter(fail_max=2)


# --- fixtures and helpers -------------------------------------------------------------


class Clock:
    """Stands in for the `time` module inside purgatory's model: only `time()` is read."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(purgatory_model, "time", fake)
    return fake


class DependencyDownError(Exception):
    """What a failing primary handler raises."""


class OutOfStockError(Exception):
    """A business error: the dependency answered, so it is not a failure."""


class BackorderedError(OutOfStockError):
    """A subclass of an excluded error."""


class InventoryHandler:
    """An identifier, as a fallback passes it."""


class PricingHandler:
    """Another identifier."""


class Primary:
    """A primary that counts its calls and fails while `failing` is set."""

    def __init__(self, *, failing: bool = False) -> None:
        self.calls = 0
        self.failing = failing
        self.error: BaseException = DependencyDownError("inventory is down")

    async def __call__(self) -> str:
        self.calls += 1
        if self.failing:
            raise self.error
        return "ok"


def untyped(constructor: Callable[..., object]) -> Callable[..., object]:
    """`constructor` as an untyped caller sees it: arguments are checked only at run time."""
    return constructor


async def fail_times(
    breaker: PurgatoryCircuitBreaker,
    identifier: type[object] | str,
    primary: Primary,
    times: int,
) -> None:
    primary.failing = True
    for _ in range(times):
        with pytest.raises(DependencyDownError):
            await breaker.call(identifier, primary)


async def refused(
    breaker: PurgatoryCircuitBreaker, identifier: type[object] | str, primary: Primary
) -> BaseException:
    """Call once, expecting a refusal without `primary` being called; return the error."""
    calls = primary.calls
    with pytest.raises(purgatory_model.OpenedState) as caught:
        await breaker.call(identifier, primary)
    assert primary.calls == calls
    return caught.value


# --- opening --------------------------------------------------------------------------


async def test_opens_after_exactly_fail_max_failures(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=3, timeout_duration=30)
    primary = Primary()

    await fail_times(breaker, InventoryHandler, primary, 2)
    await fail_times(breaker, InventoryHandler, primary, 1)  # still called: the 3rd failure
    assert primary.calls == 3

    await refused(breaker, InventoryHandler, primary)


async def test_a_success_before_fail_max_resets_the_count(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)
    primary = Primary()

    await fail_times(breaker, InventoryHandler, primary, 1)
    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"
    await fail_times(breaker, InventoryHandler, primary, 1)

    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"


async def test_fail_max_of_one_opens_on_the_first_failure(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    primary = Primary()

    await fail_times(breaker, InventoryHandler, primary, 1)

    await refused(breaker, InventoryHandler, primary)


async def test_while_open_the_function_is_not_called_and_the_error_is_recognised(
    clock: Clock,
) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 2)

    errors: list[BaseException] = []
    for _ in range(3):
        clock.advance(5)
        errors.append(await refused(breaker, InventoryHandler, primary))

    assert primary.calls == 2
    assert all(breaker.is_circuit_breaker_error(error) for error in errors)
    assert PurgatoryCircuitBreaker.circuit_name(InventoryHandler) in str(errors[-1])


def test_is_circuit_breaker_error_is_false_for_other_exceptions() -> None:
    breaker = PurgatoryCircuitBreaker()

    assert not breaker.is_circuit_breaker_error(DependencyDownError())
    assert not breaker.is_circuit_breaker_error(TimeoutError())
    assert not breaker.is_circuit_breaker_error(asyncio.CancelledError())
    assert not breaker.is_circuit_breaker_error(KeyboardInterrupt())


async def test_refusals_are_distinct_exceptions_whose_traceback_does_not_grow(
    clock: Clock,
) -> None:
    # purgatory re-raises one stored object; the adapter must not let it pile up frames.
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 1)

    errors = [await refused(breaker, InventoryHandler, primary) for _ in range(5)]

    assert len({id(error) for error in errors}) == len(errors)
    depths = {len(traceback.extract_tb(error.__traceback__)) for error in errors}
    assert len(depths) == 1


# --- half-open ------------------------------------------------------------------------


async def test_stays_open_until_the_timeout_has_passed(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 1)

    clock.advance(29.9)

    await refused(breaker, InventoryHandler, primary)


async def test_a_success_in_half_open_closes_the_circuit(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 2)
    clock.advance(31)

    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"  # the half-open probe
    assert primary.calls == 3

    # Closed again, with a fresh count: one failure does not re-open it, two do.
    await fail_times(breaker, InventoryHandler, primary, 1)
    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"
    await fail_times(breaker, InventoryHandler, primary, 2)
    await refused(breaker, InventoryHandler, primary)


async def test_a_failure_in_half_open_reopens_the_circuit(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=3, timeout_duration=30)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 3)
    clock.advance(31)

    await fail_times(breaker, InventoryHandler, primary, 1)  # the probe: one failure is enough
    assert primary.calls == 4

    await refused(breaker, InventoryHandler, primary)
    clock.advance(29)  # the new open period counts from the re-opening
    await refused(breaker, InventoryHandler, primary)
    clock.advance(2)
    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"


# --- half-open: one trial call at a time ----------------------------------------------

BURST = 100


class Burst:
    """`size` concurrent calls through `breaker` to a primary that waits for `release`.

    Each call either reaches the primary, where it waits, or is refused at once; `start`
    returns when every call has done one or the other, `finish` lets the waiting ones
    end (raising `error`, if any) and returns what every call returned or raised.
    """

    def __init__(
        self,
        breaker: PurgatoryCircuitBreaker,
        identifier: type[object] | str,
        size: int = BURST,
    ) -> None:
        self.breaker = breaker
        self.identifier = identifier
        self.size = size
        self.reached: list[asyncio.Task[object]] = []  # the calls that reached the primary
        self.refusals: list[purgatory_model.OpenedState] = []
        self.error: BaseException | None = None
        self.release = asyncio.Event()
        self.settled = asyncio.Event()
        self.tasks: list[asyncio.Task[str]] = []

    async def primary(self) -> str:
        task = asyncio.current_task()
        assert task is not None
        self.reached.append(task)
        self._tally()
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return "ok"

    async def one_call(self) -> str:
        try:
            return await self.breaker.call(self.identifier, self.primary)
        except purgatory_model.OpenedState as refusal:
            self.refusals.append(refusal)
            self._tally()
            raise

    def _tally(self) -> None:
        if len(self.reached) + len(self.refusals) == self.size:
            self.settled.set()

    async def start(self) -> Burst:
        self.tasks = [asyncio.create_task(self.one_call()) for _ in range(self.size)]
        await asyncio.wait_for(self.settled.wait(), timeout=30)  # a safety net, not a wait
        return self

    async def finish(self, error: BaseException | None = None) -> list[object]:
        self.error = error
        self.release.set()
        return list(await asyncio.gather(*self.tasks, return_exceptions=True))


def count(results: list[object], kind: type[BaseException] | str) -> int:
    if isinstance(kind, str):
        return sum(result == kind for result in results)
    return sum(isinstance(result, kind) for result in results)


class SnapshotRepository(AsyncAbstractRepository):
    """purgatory's Redis repository, in memory: state kept as data, a new `Context` per load.

    A load yields to the event loop like a round trip, or waits for `hold` when it is set;
    `loaded` is set once a load has read the state.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.rows: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, int] = {}
        self.hold: asyncio.Event | None = None
        self.loaded = asyncio.Event()

    async def get(self, name: str) -> purgatory_model.Context | None:
        row = self.rows.get(name)
        if row is None:
            return None
        context = purgatory_model.Context(**row, failure_count=self.failures.get(name, 0))
        self.loaded.set()
        hold = self.hold
        if hold is None:
            await asyncio.sleep(0)
        else:
            await hold.wait()
        return context

    async def register(self, context: purgatory_model.Context) -> None:
        self.rows[context.name] = {
            "name": context.name,
            "threshold": context.threshold,
            "ttl": context.ttl,
            "state": context.state,
            "opened_at": context.opened_at,
        }

    async def update_state(self, name: str, state: str, opened_at: float | None) -> None:
        self.rows[name].update(state=state, opened_at=opened_at)

    async def inc_failures(self, name: str, failure_count: int) -> None:
        self.failures[name] = self.failures.get(name, 0) + 1

    async def reset_failure(self, name: str) -> None:
        self.failures[name] = 0


class SnapshotUnitOfWork(purgatory.AsyncAbstractUnitOfWork):
    def __init__(self) -> None:
        self.contexts = self.snapshots = SnapshotRepository()

    async def commit(self) -> None:
        pass

    async def rollback(self) -> None:
        pass


class Storage:
    """Where a test's breaker keeps its circuits, and a circuit name of the test's own."""

    def __init__(self, uow: purgatory.AsyncAbstractUnitOfWork, unique: str) -> None:
        self.uow = uow
        self.inventory = f"{unique}.inventory"
        self.pricing = f"{unique}.pricing"
        self.orders = f"{unique}.orders"

    def breaker(self, *, fail_max: int) -> PurgatoryCircuitBreaker:
        return PurgatoryCircuitBreaker(fail_max=fail_max, timeout_duration=30, uow=self.uow)


@pytest.fixture(params=["memory", "snapshot", "redis"])
async def storage(request: pytest.FixtureRequest, unique: str) -> AsyncIterator[Storage]:
    """In memory, as Redis keeps it (a fresh `Context` per load), and in a real Redis."""
    if request.param == "memory":
        yield Storage(purgatory.AsyncInMemoryUnitOfWork(), unique)
        return
    if request.param == "snapshot":
        yield Storage(SnapshotUnitOfWork(), unique)
        return
    uow = purgatory.AsyncRedisUnitOfWork(request.getfixturevalue("redis_url"))
    repository = uow.contexts
    assert isinstance(repository, AsyncRedisRepository)
    try:
        yield Storage(uow, unique)
    finally:
        keys = [key async for key in repository.redis.scan_iter(match=f"cbr::{unique}.*")]
        if keys:
            await repository.redis.delete(*keys)
        await repository.redis.aclose()


async def test_after_the_timeout_one_call_of_a_burst_is_the_trial_and_the_rest_are_refused(
    clock: Clock, storage: Storage
) -> None:
    breaker = storage.breaker(fail_max=3)
    await fail_times(breaker, storage.inventory, Primary(), 3)
    clock.advance(31)

    burst = await Burst(breaker, storage.inventory).start()

    assert len(burst.reached) == 1
    assert len(burst.refusals) == BURST - 1
    assert all(breaker.is_circuit_breaker_error(refusal) for refusal in burst.refusals)
    assert len({id(refusal) for refusal in burst.refusals}) == BURST - 1
    assert all(storage.inventory in str(refusal) for refusal in burst.refusals)
    await burst.finish()


async def test_a_failed_trial_opens_the_circuit_again_for_a_whole_timeout(
    clock: Clock, storage: Storage
) -> None:
    breaker = storage.breaker(fail_max=3)
    primary = Primary()
    await fail_times(breaker, storage.inventory, primary, 3)
    clock.advance(31)
    burst = await Burst(breaker, storage.inventory).start()

    results = await burst.finish(DependencyDownError("still down"))

    assert count(results, DependencyDownError) == 1
    assert count(results, purgatory_model.OpenedState) == BURST - 1
    await refused(breaker, storage.inventory, primary)
    clock.advance(29)  # the new open period counts from the trial's failure
    await refused(breaker, storage.inventory, primary)
    clock.advance(2)
    again = await Burst(breaker, storage.inventory).start()
    assert len(again.reached) == 1  # the next timeout gives one more trial, not a burst
    assert count(await again.finish(), "ok") == 1


async def test_a_successful_trial_closes_the_circuit_for_every_call(
    clock: Clock, storage: Storage
) -> None:
    breaker = storage.breaker(fail_max=3)
    await fail_times(breaker, storage.inventory, Primary(), 3)
    clock.advance(31)
    burst = await Burst(breaker, storage.inventory).start()

    results = await burst.finish()

    assert count(results, "ok") == 1
    assert count(results, purgatory_model.OpenedState) == BURST - 1
    closed = await Burst(breaker, storage.inventory).start()
    assert len(closed.reached) == BURST
    assert await closed.finish() == ["ok"] * BURST
    # Closed with a fresh count: it takes fail_max failures to open it again.
    primary = Primary()
    await fail_times(breaker, storage.inventory, primary, 3)
    await refused(breaker, storage.inventory, primary)


async def test_a_cancelled_trial_counts_as_a_failure_and_frees_the_trial(
    clock: Clock, storage: Storage
) -> None:
    breaker = storage.breaker(fail_max=3)
    primary = Primary()
    await fail_times(breaker, storage.inventory, primary, 3)
    clock.advance(31)
    burst = await Burst(breaker, storage.inventory).start()

    (trial,) = burst.reached
    trial.cancel()
    results = await burst.finish()

    assert count(results, asyncio.CancelledError) == 1
    assert count(results, purgatory_model.OpenedState) == BURST - 1
    # As cancellation counts as a failure in every state, the circuit is open again.
    await refused(breaker, storage.inventory, primary)
    clock.advance(29)
    await refused(breaker, storage.inventory, primary)
    clock.advance(2)
    # The trial's slot was freed: after the timeout, one more trial goes through.
    again = await Burst(breaker, storage.inventory).start()
    assert len(again.reached) == 1
    assert count(await again.finish(), "ok") == 1
    primary.failing = False
    assert await breaker.call(storage.inventory, primary) == "ok"


async def test_a_trial_on_one_circuit_does_not_hold_back_another(
    clock: Clock, storage: Storage
) -> None:
    breaker = storage.breaker(fail_max=1)
    await fail_times(breaker, storage.inventory, Primary(), 1)
    await fail_times(breaker, storage.pricing, Primary(), 1)
    clock.advance(31)

    inventory = await Burst(breaker, storage.inventory).start()
    pricing = await Burst(breaker, storage.pricing).start()  # a trial of its own
    orders = await Burst(breaker, storage.orders).start()  # closed: every call

    assert [len(burst.reached) for burst in (inventory, pricing, orders)] == [1, 1, BURST]
    assert count(await pricing.finish(), "ok") == 1
    assert await orders.finish() == ["ok"] * BURST
    assert count(await inventory.finish(DependencyDownError("down")), DependencyDownError) == 1
    await refused(breaker, storage.inventory, Primary())
    assert await breaker.call(storage.pricing, Primary()) == "ok"


async def test_handler_classes_have_a_trial_each(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    await fail_times(breaker, InventoryHandler, Primary(), 1)
    await fail_times(breaker, PricingHandler, Primary(), 1)
    clock.advance(31)

    inventory = await Burst(breaker, InventoryHandler).start()
    pricing = await Burst(breaker, PricingHandler).start()

    assert (len(inventory.reached), len(pricing.reached)) == (1, 1)
    await inventory.finish()
    await pricing.finish()


@pytest.mark.parametrize("error", [None, DependencyDownError("down")], ids=["ok", "failing"])
async def test_while_closed_every_concurrent_call_reaches_the_primary(
    clock: Clock, storage: Storage, error: BaseException | None
) -> None:
    breaker = storage.breaker(fail_max=3)

    burst = await Burst(breaker, storage.inventory).start()

    assert len(burst.reached) == BURST
    assert not burst.refusals
    results = await burst.finish(error)
    assert count(results, "ok" if error is None else DependencyDownError) == BURST


async def test_adapters_sharing_a_uow_share_the_trial(clock: Clock) -> None:
    uow = purgatory.AsyncInMemoryUnitOfWork()
    first = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=uow)
    second = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=uow)
    primary = Primary()
    await fail_times(first, InventoryHandler, primary, 1)
    clock.advance(31)

    burst = await Burst(first, InventoryHandler, size=1).start()

    await refused(second, InventoryHandler, primary)
    await burst.finish()
    primary.failing = False
    assert await second.call(InventoryHandler, primary) == "ok"


class UnhashableUnitOfWork(purgatory.AsyncInMemoryUnitOfWork):
    """A unit of work that cannot key a dictionary."""

    __hash__ = None  # type: ignore[assignment]


async def test_a_uow_that_cannot_be_hashed_still_gets_one_trial(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=UnhashableUnitOfWork())
    await fail_times(breaker, InventoryHandler, Primary(), 1)
    clock.advance(31)

    burst = await Burst(breaker, InventoryHandler).start()

    assert len(burst.reached) == 1
    assert count(await burst.finish(), "ok") == 1


async def test_an_excluded_exception_ends_the_trial_as_a_success(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, exclude=[OutOfStockError])
    await fail_times(breaker, InventoryHandler, Primary(), 1)
    clock.advance(31)
    burst = await Burst(breaker, InventoryHandler).start()

    results = await burst.finish(OutOfStockError("A-1"))

    assert count(results, OutOfStockError) == 1
    closed = await Burst(breaker, InventoryHandler).start()
    assert len(closed.reached) == BURST
    await closed.finish()


async def test_a_call_that_loaded_the_circuit_during_the_trial_sees_its_outcome(
    clock: Clock,
) -> None:
    # With Redis, each call loads its own copy of the circuit: one loaded while the trial
    # ran, but looked at after it failed, must not be taken for the next trial.
    uow = SnapshotUnitOfWork()
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=uow)
    primary = Primary()
    await fail_times(breaker, InventoryHandler, primary, 1)
    clock.advance(31)
    trial = await Burst(breaker, InventoryHandler, size=1).start()
    hold = uow.snapshots.hold = asyncio.Event()
    uow.snapshots.loaded.clear()

    late = asyncio.create_task(breaker.call(InventoryHandler, primary))
    await uow.snapshots.loaded.wait()  # it read the circuit as open and timed out
    uow.snapshots.hold = None
    assert count(await trial.finish(DependencyDownError("down")), DependencyDownError) == 1
    hold.set()

    with pytest.raises(purgatory_model.OpenedState):
        await late
    assert primary.calls == 1


# --- exclusions -----------------------------------------------------------------------


async def test_excluded_exceptions_do_not_count_as_failures(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30, exclude=[OutOfStockError])
    primary = Primary(failing=True)

    for error in (OutOfStockError("A-1"), BackorderedError("A-2"), OutOfStockError("A-3")):
        primary.error = error
        with pytest.raises(OutOfStockError) as caught:
            await breaker.call(InventoryHandler, primary)
        assert caught.value is error

    assert primary.calls == 3
    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"


async def test_an_excluded_exception_counts_as_a_success(clock: Clock) -> None:
    # As documented: purgatory resets the failure count on an excluded exception.
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30, exclude=(OutOfStockError,))
    primary = Primary()

    await fail_times(breaker, InventoryHandler, primary, 1)
    primary.error = OutOfStockError("A-1")
    with pytest.raises(OutOfStockError):
        await breaker.call(InventoryHandler, primary)
    primary.error = DependencyDownError("down again")
    await fail_times(breaker, InventoryHandler, primary, 1)

    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"


async def test_exceptions_not_excluded_still_count(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30, exclude=[OutOfStockError])
    primary = Primary()

    await fail_times(breaker, InventoryHandler, primary, 2)

    await refused(breaker, InventoryHandler, primary)


# --- isolation ------------------------------------------------------------------------


async def test_each_identifier_has_its_own_circuit(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    inventory, pricing = Primary(), Primary()

    await fail_times(breaker, InventoryHandler, inventory, 1)
    await refused(breaker, InventoryHandler, inventory)

    assert await breaker.call(PricingHandler, pricing) == "ok"
    assert await breaker.call("pricing", pricing) == "ok"
    assert pricing.calls == 2


async def test_a_class_and_its_dotted_name_share_one_circuit(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    primary = Primary()
    name = f"{InventoryHandler.__module__}.{InventoryHandler.__qualname__}"

    await fail_times(breaker, InventoryHandler, primary, 1)

    assert PurgatoryCircuitBreaker.circuit_name(InventoryHandler) == name
    assert PurgatoryCircuitBreaker.circuit_name("pricing") == "pricing"
    await refused(breaker, name, primary)


async def test_each_adapter_instance_has_its_own_state(clock: Clock) -> None:
    first = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    second = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    primary = Primary()

    await fail_times(first, InventoryHandler, primary, 1)
    await refused(first, InventoryHandler, primary)

    primary.failing = False
    assert await second.call(InventoryHandler, primary) == "ok"


async def test_adapters_given_the_same_uow_share_state(clock: Clock) -> None:
    uow = purgatory.AsyncInMemoryUnitOfWork()
    first = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=uow)
    second = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30, uow=uow)
    primary = Primary()

    await fail_times(first, InventoryHandler, primary, 1)

    await refused(second, InventoryHandler, primary)


class CountingUnitOfWork(purgatory.AsyncInMemoryUnitOfWork):
    """purgatory's in-memory storage, counting `initialize()` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.initialized = 0

    async def initialize(self) -> None:
        self.initialized += 1
        await asyncio.sleep(0)  # let concurrent first calls overlap


async def test_the_uow_is_initialized_once_even_for_concurrent_first_calls(
    clock: Clock,
) -> None:
    uow = CountingUnitOfWork()
    breaker = PurgatoryCircuitBreaker(uow=uow)
    primary = Primary()

    results = await asyncio.gather(*(breaker.call(InventoryHandler, primary) for _ in range(5)))
    assert await breaker.call(PricingHandler, primary) == "ok"

    assert results == ["ok"] * 5
    assert uow.initialized == 1


# --- calls ----------------------------------------------------------------------------


async def test_call_passes_args_and_kwargs_and_returns_the_value() -> None:
    breaker = PurgatoryCircuitBreaker()
    seen: list[tuple[str, int, str]] = []

    async def reserve(sku: str, quantity: int, *, warehouse: str) -> str:
        seen.append((sku, quantity, warehouse))
        return f"{quantity} x {sku} from {warehouse}"

    result = await breaker.call(InventoryHandler, reserve, "A-1", 2, warehouse="north")

    assert result == "2 x A-1 from north"
    assert seen == [("A-1", 2, "north")]


async def test_the_original_exception_propagates_unchanged() -> None:
    breaker = PurgatoryCircuitBreaker()
    primary = Primary(failing=True)
    original = primary.error

    with pytest.raises(DependencyDownError) as caught:
        await breaker.call(InventoryHandler, primary)

    assert caught.value is original
    assert str(caught.value) == "inventory is down"
    assert not breaker.is_circuit_breaker_error(caught.value)


async def test_an_open_circuit_error_raised_by_the_function_propagates_unchanged(
    clock: Clock,
) -> None:
    # An inner breaker's refusal is the function's own failure, not this circuit's.
    outer = PurgatoryCircuitBreaker(fail_max=5, timeout_duration=30)
    inner = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)
    pricing = Primary()
    await fail_times(inner, PricingHandler, pricing, 1)
    inner_errors: list[BaseException] = []

    async def quote() -> str:
        try:
            return await inner.call(PricingHandler, pricing)
        except purgatory_model.OpenedState as exc:
            inner_errors.append(exc)
            raise

    with pytest.raises(purgatory_model.OpenedState) as caught:
        await outer.call(InventoryHandler, quote)

    assert inner_errors == [caught.value]
    assert caught.value is inner_errors[0]


# --- arguments ------------------------------------------------------------------------


@pytest.mark.parametrize("fail_max", [0, -1, True, 2.5, "3"])
def test_fail_max_must_be_a_positive_integer(fail_max: object) -> None:
    with pytest.raises(InvalidConfigurationError, match="fail_max") as caught:
        untyped(PurgatoryCircuitBreaker)(fail_max=fail_max)

    assert repr(fail_max) in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("timeout_duration", [0, -1.5, math.nan, math.inf, "60", None])
def test_timeout_duration_must_be_positive_and_finite(timeout_duration: object) -> None:
    with pytest.raises(InvalidConfigurationError, match="timeout_duration") as caught:
        untyped(PurgatoryCircuitBreaker)(timeout_duration=timeout_duration)

    assert repr(timeout_duration) in str(caught.value)


@pytest.mark.parametrize(
    "exclude",
    [[ValueError()], ["ValueError"], [int], [OutOfStockError, None], ValueError, "ValueError"],
)
def test_exclude_must_hold_only_exception_classes(exclude: object) -> None:
    with pytest.raises(InvalidConfigurationError, match="exclude") as caught:
        untyped(PurgatoryCircuitBreaker)(exclude=exclude)

    assert repr(exclude) in str(caught.value)


def test_uow_must_be_an_async_purgatory_unit_of_work() -> None:
    sync_uow = purgatory.SyncInMemoryUnitOfWork()

    with pytest.raises(InvalidConfigurationError, match="uow"):
        untyped(PurgatoryCircuitBreaker)(uow=sync_uow)


def test_valid_arguments_are_kept() -> None:
    breaker = PurgatoryCircuitBreaker(
        fail_max=1, timeout_duration=0.5, exclude=[OutOfStockError, KeyboardInterrupt]
    )

    assert breaker.fail_max == 1
    assert breaker.timeout_duration == 0.5
    assert breaker.exclude == (OutOfStockError, KeyboardInterrupt)
    assert isinstance(breaker.factory, purgatory.AsyncCircuitBreakerFactory)
    assert "fail_max=1" in repr(breaker)


def test_constructor_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        untyped(PurgatoryCircuitBreaker)(3)


# --- python-cqrs compatibility ----------------------------------------------------------


async def test_aiobreaker_adapter_takes_python_cqrs_arguments(clock: Clock) -> None:
    breaker = AioBreakerAdapter(fail_max=2, timeout_duration=10, exclude=[OutOfStockError])
    primary = Primary(failing=True)
    primary.error = OutOfStockError("A-1")

    for _ in range(3):
        with pytest.raises(OutOfStockError):
            await breaker.call(InventoryHandler, primary)
    primary.error = DependencyDownError("down")
    await fail_times(breaker, InventoryHandler, primary, 2)
    error = await refused(breaker, InventoryHandler, primary)

    assert breaker.is_circuit_breaker_error(error)
    assert isinstance(breaker, PurgatoryCircuitBreaker)
    clock.advance(11)
    primary.failing = False
    assert await breaker.call(InventoryHandler, primary) == "ok"


def test_aiobreaker_adapter_takes_positional_arguments_and_exclude_none() -> None:
    breaker = AioBreakerAdapter(3, 15, None)

    assert (breaker.fail_max, breaker.timeout_duration, breaker.exclude) == (3, 15.0, ())
    assert AioBreakerAdapter().fail_max == 5
    assert AioBreakerAdapter().timeout_duration == 60


def test_aiobreaker_adapter_rejects_storage_factory_and_points_to_uow() -> None:
    with pytest.raises(TypeError, match="uow") as caught:
        untyped(AioBreakerAdapter)(fail_max=3, storage_factory=lambda: None)

    assert "storage_factory" in str(caught.value)


def test_aiobreaker_adapter_rejects_unknown_keyword_arguments() -> None:
    with pytest.raises(TypeError, match="fail_maxx"):
        untyped(AioBreakerAdapter)(fail_maxx=3)


def test_aiobreaker_adapter_validates_like_the_purgatory_breaker() -> None:
    with pytest.raises(InvalidConfigurationError, match="fail_max"):
        AioBreakerAdapter(fail_max=0)


def test_aiobreaker_adapter_accepts_a_uow() -> None:
    uow = purgatory.AsyncInMemoryUnitOfWork()

    breaker = AioBreakerAdapter(fail_max=2, uow=uow)

    assert breaker.factory.uow is uow


# --- the optional dependency ----------------------------------------------------------


def test_importing_without_purgatory_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "cqrs.adapters.circuit_breaker")
    monkeypatch.setitem(sys.modules, "purgatory", None)  # makes `import purgatory` fail

    with pytest.raises(ImportError, match=r"pip install \"cqrs-typed\[circuit-breaker\]\""):
        importlib.import_module("cqrs.adapters.circuit_breaker")


# --- end to end: fallbacks behind the real breaker, through the mediators -------------


class Item(cqrs.Response):
    source: str
    n: int


class ListItems(cqrs.Request[Item]):
    pass


class FeedState:
    """What the handlers of one test did; handlers are built by the container."""

    built: ClassVar[list[str]] = []
    feed_up: ClassVar[bool] = False
    items_before_failing: ClassVar[int] = 0


class LiveFeed(cqrs.StreamingRequestHandler[ListItems, Item]):
    def __init__(self) -> None:
        FeedState.built.append("live")

    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListItems) -> AsyncIterator[Item]:
        for n in range(2):
            if not FeedState.feed_up and n == FeedState.items_before_failing:
                msg = "feed lost"
                raise DependencyDownError(msg)
            yield Item(source="live", n=n)


class CachedFeed(cqrs.StreamingRequestHandler[ListItems, Item]):
    def __init__(self) -> None:
        FeedState.built.append("cache")

    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListItems) -> AsyncIterator[Item]:
        yield Item(source="cache", n=0)
        yield Item(source="cache", n=1)


@pytest.fixture
def feed() -> type[FeedState]:
    FeedState.built = []
    FeedState.feed_up = False
    FeedState.items_before_failing = 0
    return FeedState


async def drain(mediator: cqrs.StreamingRequestMediator) -> list[str]:
    return [f"{item.source} {item.n}" async for item in mediator.stream(ListItems())]


def feed_mediator(breaker: PurgatoryCircuitBreaker) -> cqrs.StreamingRequestMediator:
    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(
            ListItems,
            cqrs.RequestHandlerFallback(
                LiveFeed, CachedFeed, (DependencyDownError,), circuit_breaker=breaker
            ),
        )

    return bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=queries)


async def test_streams_of_a_down_service_open_the_circuit_and_it_recovers(
    clock: Clock, feed: type[FeedState]
) -> None:
    mediator = feed_mediator(PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30))

    for _ in range(2):  # the live feed fails before its first item: two failures
        assert await drain(mediator) == ["cache 0", "cache 1"]
    feed.built.clear()
    assert await drain(mediator) == ["cache 0", "cache 1"]
    assert feed.built == ["cache"]  # open: the live feed is not even built

    # After the timeout the next stream probes the live feed; it is back, so it closes.
    clock.advance(31)
    feed.feed_up = True
    assert await drain(mediator) == ["live 0", "live 1"]
    feed.built.clear()
    assert await drain(mediator) == ["live 0", "live 1"]
    assert feed.built == ["live"]


async def test_each_item_a_stream_delivers_counts_as_a_success_for_the_breaker(
    clock: Clock, feed: type[FeedState]
) -> None:
    # Every stream delivers one item and then fails: each pull is one call through the
    # breaker, so the delivered item resets the count and the circuit stays closed.
    feed.items_before_failing = 1
    mediator = feed_mediator(PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30))

    for _ in range(4):
        assert await drain(mediator) == ["live 0", "cache 0", "cache 1"]
    assert feed.built.count("live") == 4


class Quote(cqrs.Response):
    source: str


class GetQuote(cqrs.Request[Quote]):
    pass


class LiveQuote(cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        FeedState.built.append("live quote")
        if not FeedState.feed_up:
            msg = "pricing down"
            raise DependencyDownError(msg)
        return Quote(source="live")


class CachedQuote(cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        return Quote(source="cache")


async def test_one_breaker_keeps_the_circuits_of_two_fallbacks_apart(
    clock: Clock, feed: type[FeedState]
) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=1, timeout_duration=30)

    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(
            GetQuote, cqrs.RequestHandlerFallback(LiveQuote, CachedQuote, circuit_breaker=breaker)
        )

    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(
            ListItems, cqrs.RequestHandlerFallback(LiveFeed, CachedFeed, circuit_breaker=breaker)
        )

    quotes = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=commands)
    items = bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=queries)

    assert await quotes.send(GetQuote()) == Quote(source="cache")  # opens LiveQuote's circuit
    feed.feed_up = True
    # LiveFeed's circuit is its own: still closed, so the live feed serves.
    assert await drain(items) == ["live 0", "live 1"]
    feed.built.clear()
    assert await quotes.send(GetQuote()) == Quote(source="cache")
    assert feed.built == []  # LiveQuote's circuit is open: never asked


class QuoteGate:
    """What the gated quote handlers of one test share (the container builds them)."""

    live: ClassVar[int] = 0
    cached: ClassVar[int] = 0
    expected: ClassVar[int] = 0
    service_up: ClassVar[bool] = False
    settled: ClassVar[asyncio.Event]
    release: ClassVar[asyncio.Event]

    @classmethod
    def arrived(cls) -> None:
        if cls.live + cls.cached == cls.expected:
            cls.settled.set()


class GatedLiveQuote(cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        QuoteGate.live += 1
        QuoteGate.arrived()
        await QuoteGate.release.wait()
        if not QuoteGate.service_up:
            msg = "pricing down"
            raise DependencyDownError(msg)
        return Quote(source="live")


class CountedCachedQuote(cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        QuoteGate.cached += 1
        QuoteGate.arrived()
        return Quote(source="cache")


@pytest.fixture
def quote_gate() -> type[QuoteGate]:
    QuoteGate.live = QuoteGate.cached = QuoteGate.expected = 0
    QuoteGate.service_up = False
    QuoteGate.settled = asyncio.Event()
    QuoteGate.release = asyncio.Event()
    return QuoteGate


async def test_after_the_timeout_one_request_tries_the_primary_and_the_rest_get_the_fallback(
    clock: Clock, quote_gate: type[QuoteGate]
) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)

    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(
            GetQuote,
            cqrs.RequestHandlerFallback(
                GatedLiveQuote, CountedCachedQuote, circuit_breaker=breaker
            ),
        )

    mediator = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=commands)
    quote_gate.release.set()  # the service fails at once: two failures open the circuit
    for _ in range(2):
        assert await mediator.send(GetQuote()) == Quote(source="cache")
    clock.advance(31)
    quote_gate.live = quote_gate.cached = 0
    quote_gate.expected = BURST
    quote_gate.release = asyncio.Event()

    sends = [asyncio.create_task(mediator.send(GetQuote())) for _ in range(BURST)]
    await asyncio.wait_for(quote_gate.settled.wait(), timeout=30)  # a safety net, not a wait

    assert (quote_gate.live, quote_gate.cached) == (1, BURST - 1)
    quote_gate.service_up = True
    quote_gate.release.set()
    responses = await asyncio.gather(*sends)
    assert responses.count(Quote(source="live")) == 1
    assert responses.count(Quote(source="cache")) == BURST - 1
    assert await mediator.send(GetQuote()) == Quote(source="live")  # closed again


class Pricing(Protocol):
    def price(self) -> int: ...


class UnwiredQuote(cqrs.RequestHandler[GetQuote, Quote]):
    def __init__(self, pricing: Pricing) -> None:  # Pricing is never bound: a wiring bug
        self._pricing = pricing

    async def handle(self, request: GetQuote) -> Quote:
        return Quote(source=str(self._pricing.price()))


async def test_a_wiring_error_never_opens_the_circuit(clock: Clock) -> None:
    breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)
    requests = cqrs.RequestMap()
    requests.bind(
        GetQuote, cqrs.RequestHandlerFallback(UnwiredQuote, CachedQuote, circuit_breaker=breaker)
    )
    # Not bootstrapped, so nothing solves the graphs up front: the error shows per send.
    mediator = cqrs.RequestMediator(requests, cqrs.DIContainer(di.Container()))

    for _ in range(4):
        with pytest.raises(DependencyResolutionError, match="UnwiredQuote"):
            await mediator.send(GetQuote())
