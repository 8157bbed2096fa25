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
from typing import ClassVar, Protocol

import di
import purgatory
import purgatory.domain.model as purgatory_model
import pytest

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
