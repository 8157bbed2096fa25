"""Handler fallbacks: `RequestHandlerFallback` and `EventHandlerFallback`, run for real.

Every test goes through the mediators `bootstrap` builds, so the fallbacks are opened
the way users meet them: through the container, the middlewares and the event pipeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, cast

import di
import pytest
from di.dependent import Dependent

import cqrs
from cqrs.circuit_breaker import CircuitIdentifier, ICircuitBreaker
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import (
    DependencyResolutionError,
    HandlerAlreadyBoundError,
    HandlerBindingTypeError,
    RequestHandlerTypeError,
)
from cqrs.requests import bootstrap

GUARD = 5.0  # seconds; only a guard against a hang, never used to coordinate

MODES = pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])

_P = ParamSpec("_P")
_T = TypeVar("_T")


# --- messages ---------------------------------------------------------------------------


class Quote(cqrs.Response):
    source: str


class Price(cqrs.Response):
    amount: int


class GetQuote(cqrs.Request[Quote]):
    sku: str


class GetUrgentQuote(GetQuote):
    pass


class GetPrice(cqrs.Request[Quote]):
    sku: str


class QuoteServed(cqrs.DomainEvent, frozen=True):
    source: str


class Tick(cqrs.Response):
    source: str
    number: int


class WatchTicks(cqrs.Request[Tick]):
    pass


class Ticked(cqrs.DomainEvent, frozen=True):
    label: str


class Placed(cqrs.Response):
    order_id: str


class PlaceOrder(cqrs.Request[Placed]):
    order_id: str


class OrderPlaced(cqrs.DomainEvent, frozen=True):
    order_id: str


class UrgentOrderPlaced(OrderPlaced, frozen=True):
    pass


class Shipped(cqrs.DomainEvent, frozen=True):
    order_id: str


class Notified(cqrs.DomainEvent, frozen=True):
    channel: str


# --- recorders: handlers are built by the container, so they report here ----------------


class Journal:
    """What the handlers of one test did, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.built: list[str] = []
        self.errors: dict[str, Exception] = {}
        self.inside = asyncio.Event()
        self.live_items = 2
        self.live_error: Exception | None = ConnectionError("feed lost")


JOURNAL: Journal


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - handlers are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class Recorder:
    """Mixin: counts constructions and keeps the events a handler raised."""

    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []
        JOURNAL.built.append(type(self).__name__)

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        self._events.clear()


def fail_if_told(name: str) -> None:
    error = JOURNAL.errors.get(name)
    if error is not None:
        raise error


class LiveQuote(Recorder, cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        JOURNAL.log.append(f"live {request.sku}")
        self._events.append(QuoteServed(source="live"))
        fail_if_told("live")
        return Quote(source="live")


class CachedQuote(Recorder, cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        JOURNAL.log.append(f"cached {request.sku}")
        self._events.append(QuoteServed(source="cached"))
        fail_if_told("cached")
        return Quote(source="cached")


class BlockingQuote(Recorder, cqrs.RequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> Quote:
        JOURNAL.inside.set()
        await asyncio.Event().wait()
        return Quote(source="never")  # pragma: no cover - cancelled while waiting


class UrgentQuote(Recorder, cqrs.RequestHandler[GetUrgentQuote, Quote]):
    async def handle(self, request: GetUrgentQuote) -> Quote:
        return Quote(source="urgent")


class PriceQuote(cqrs.RequestHandler[GetPrice, Quote]):
    async def handle(self, request: GetPrice) -> Quote:
        return Quote(source="price")


class QuoteAsPrice(cqrs.RequestHandler[GetQuote, Price]):
    async def handle(self, request: GetQuote) -> Price:
        return Price(amount=1)


class StreamedQuote(Recorder, cqrs.StreamingRequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> AsyncIterator[Quote]:
        yield Quote(source="streamed")


class OtherStreamedQuote(Recorder, cqrs.StreamingRequestHandler[GetQuote, Quote]):
    async def handle(self, request: GetQuote) -> AsyncIterator[Quote]:
        yield Quote(source="other streamed")


class QuoteServedHandler(cqrs.EventHandler[QuoteServed]):
    async def handle(self, event: QuoteServed) -> None:
        JOURNAL.log.append(f"event {event.source}")


class LiveTicks(Recorder, cqrs.StreamingRequestHandler[WatchTicks, Tick]):
    """Yields `JOURNAL.live_items` ticks, then raises `JOURNAL.live_error` (if any)."""

    async def handle(self, request: WatchTicks) -> AsyncIterator[Tick]:
        JOURNAL.log.append("live start")
        try:
            for number in range(JOURNAL.live_items):
                self._events.append(Ticked(label=f"live {number}"))
                yield Tick(source="live", number=number)
            self._events.append(Ticked(label="live lost"))  # raised by a failed handler
            if JOURNAL.live_error is not None:
                raise JOURNAL.live_error
        finally:
            JOURNAL.log.append("live finally")


class BlockingTicks(Recorder, cqrs.StreamingRequestHandler[WatchTicks, Tick]):
    """Yields one tick, then blocks until cancelled."""

    async def handle(self, request: WatchTicks) -> AsyncIterator[Tick]:
        try:
            yield Tick(source="blocking", number=0)
            JOURNAL.inside.set()
            await asyncio.Event().wait()
            yield Tick(source="blocking", number=-1)  # pragma: no cover - cancelled first
        finally:
            JOURNAL.log.append("blocking finally")


class ArchiveTicks(Recorder, cqrs.StreamingRequestHandler[WatchTicks, Tick]):
    async def handle(self, request: WatchTicks) -> AsyncIterator[Tick]:
        JOURNAL.log.append("archive start")
        try:
            for number in range(3):
                self._events.append(Ticked(label=f"archive {number}"))
                yield Tick(source="archive", number=number)
        finally:
            JOURNAL.log.append("archive finally")


class TickedHandler(cqrs.EventHandler[Ticked]):
    async def handle(self, event: Ticked) -> None:
        JOURNAL.log.append(f"event {event.label}")


class PlaceOrderHandler(cqrs.RequestHandler[PlaceOrder, Placed]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def handle(self, request: PlaceOrder) -> Placed:
        self._events.append(OrderPlaced(order_id=request.order_id))
        return Placed(order_id=request.order_id)


class EmailNotify(Recorder, cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        JOURNAL.log.append(f"email {event.order_id}")
        self._events.append(Notified(channel="email"))
        fail_if_told("email")


class SmsNotify(Recorder, cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        JOURNAL.log.append(f"sms {event.order_id}")
        self._events.append(Notified(channel="sms"))
        fail_if_told("sms")


class AuditOrder(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        JOURNAL.log.append(f"audit {event.order_id}")


class UrgentNotify(cqrs.EventHandler[UrgentOrderPlaced]):
    async def handle(self, event: UrgentOrderPlaced) -> None:
        pass


class ShippedNotify(cqrs.EventHandler[Shipped]):
    async def handle(self, event: Shipped) -> None:
        pass


class NotifiedHandler(cqrs.EventHandler[Notified]):
    async def handle(self, event: Notified) -> None:
        JOURNAL.log.append(f"notified {event.channel}")


class SmsGateway(Protocol):
    def send(self, text: str) -> str: ...


class FakeGateway:
    def send(self, text: str) -> str:
        return f"sent {text}"


class GatewaySmsNotify(cqrs.EventHandler[OrderPlaced]):
    def __init__(self, gateway: SmsGateway) -> None:
        self._gateway = gateway

    async def handle(self, event: OrderPlaced) -> None:
        JOURNAL.log.append(self._gateway.send(event.order_id))


class GatewayQuote(cqrs.RequestHandler[GetQuote, Quote]):
    def __init__(self, gateway: SmsGateway) -> None:
        self._gateway = gateway

    async def handle(self, request: GetQuote) -> Quote:
        return Quote(source=self._gateway.send(request.sku))


# --- a fake circuit breaker -------------------------------------------------------------


class OpenError(Exception):
    """The fake breaker refusing a call: its circuit is open."""


class FakeBreaker:
    """Records every call; while `is_open`, refuses without calling `func`."""

    def __init__(self) -> None:
        self.calls: list[tuple[CircuitIdentifier, tuple[object, ...]]] = []
        self.is_open = False

    async def call(
        self,
        identifier: CircuitIdentifier,
        func: Callable[_P, Awaitable[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        self.calls.append((identifier, tuple(args)))
        if self.is_open:
            msg = "circuit open"
            raise OpenError(msg)
        return await func(*args, **kwargs)

    def is_circuit_breaker_error(self, exc: BaseException, /) -> bool:
        return isinstance(exc, OpenError)

    @property
    def identifiers(self) -> list[CircuitIdentifier]:
        return [identifier for identifier, _ in self.calls]


_STATIC_BREAKER: ICircuitBreaker = FakeBreaker()  # the fake satisfies the protocol


# --- helpers ------------------------------------------------------------------------------


def untyped(constructor: Callable[..., object]) -> Callable[..., object]:
    """`constructor` as an untyped caller sees it: arguments are checked only at run time."""
    return constructor


def request_mediator(binding: object, **kwargs: Any) -> cqrs.RequestMediator:
    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(GetQuote, cast("Any", binding))

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(QuoteServed, QuoteServedHandler)

    return bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        **kwargs,
    )


def streaming_mediator(binding: object, **kwargs: Any) -> cqrs.StreamingRequestMediator:
    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(WatchTicks, cast("Any", binding))

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(Ticked, TickedHandler)

    return bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        queries_mapper=queries,
        domain_events_mapper=events,
        **kwargs,
    )


def order_mediator(
    fallback: cqrs.EventHandlerFallback[OrderPlaced],
    *,
    parallel: bool = True,
    also: Sequence[type[cqrs.EventHandler[OrderPlaced]]] = (),
    **kwargs: Any,
) -> cqrs.RequestMediator:
    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(PlaceOrder, PlaceOrderHandler)

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, fallback)
        for handler in also:
            mapper.bind(OrderPlaced, handler)
        mapper.bind(Notified, NotifiedHandler)

    return bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        concurrent_event_handle_enable=parallel,
        max_concurrent_event_handlers=4,
        **kwargs,
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cqrs" and record.levelno == logging.WARNING
    ]


def errors_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cqrs" and r.levelno == logging.ERROR]


def live_or_cached(**kwargs: Any) -> cqrs.RequestHandlerFallback[GetQuote, Quote]:
    return cqrs.RequestHandlerFallback(LiveQuote, CachedQuote, **kwargs)


def live_or_archive(**kwargs: Any) -> cqrs.RequestHandlerFallback[WatchTicks, Tick]:
    return cqrs.RequestHandlerFallback(LiveTicks, ArchiveTicks, **kwargs)


def email_or_sms(**kwargs: Any) -> cqrs.EventHandlerFallback[OrderPlaced]:
    return cqrs.EventHandlerFallback(EmailNotify, SmsNotify, **kwargs)


async def consume(stream: AsyncIterator[Tick], got: list[str]) -> None:
    """Record each tick as it arrives (in the journal too), so ticks before an error stay."""
    async for tick in stream:
        label = f"{tick.source} {tick.number}"
        got.append(label)
        JOURNAL.log.append(f"got {label}")


# --- plain requests -----------------------------------------------------------------------


async def test_primary_success_returns_its_response_and_never_builds_the_fallback(
    journal: Journal,
) -> None:
    mediator = request_mediator(live_or_cached(failure_exceptions=(ConnectionError,)))

    response = await mediator.send(GetQuote(sku="a"))

    assert response == Quote(source="live")
    assert journal.built == ["LiveQuote"]
    assert journal.log == ["live a", "event live"]


async def test_listed_failure_returns_the_fallbacks_response_and_only_its_events(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    journal.errors["live"] = ConnectionError("pricing down")
    mediator = request_mediator(live_or_cached(failure_exceptions=(KeyError, ConnectionError)))

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        response = await mediator.send(GetQuote(sku="a"))

    assert response == Quote(source="cached")
    assert journal.built == ["LiveQuote", "CachedQuote"]
    # The failed primary raised QuoteServed(live) before failing: it is not emitted.
    assert journal.log == ["live a", "cached a", "event cached"]
    [warning] = warnings_of(caplog)
    assert "LiveQuote" in warning
    assert "CachedQuote" in warning
    assert "ConnectionError" in warning
    assert "pricing down" in warning


async def test_a_subclass_of_a_listed_exception_triggers_the_fallback(journal: Journal) -> None:
    journal.errors["live"] = ConnectionRefusedError("refused")
    mediator = request_mediator(live_or_cached(failure_exceptions=(ConnectionError,)))

    assert await mediator.send(GetQuote(sku="a")) == Quote(source="cached")


async def test_unlisted_failure_propagates_unchanged_and_never_builds_the_fallback(
    journal: Journal,
) -> None:
    boom = ValueError("bad sku")
    journal.errors["live"] = boom
    mediator = request_mediator(live_or_cached(failure_exceptions=(ConnectionError,)))

    with pytest.raises(ValueError, match="bad sku") as caught:
        await mediator.send(GetQuote(sku="a"))

    assert caught.value is boom
    assert journal.built == ["LiveQuote"]
    assert journal.log == ["live a"]  # the failed primary's event is not emitted


@pytest.mark.parametrize(
    "error",
    [ValueError("v"), RuntimeError("r"), LookupError("l"), cqrs.CQRSError("c")],
    ids=lambda e: type(e).__name__,
)
async def test_empty_failure_exceptions_fall_back_on_any_exception(
    journal: Journal, error: Exception
) -> None:
    journal.errors["live"] = error
    mediator = request_mediator(live_or_cached())

    assert await mediator.send(GetQuote(sku="a")) == Quote(source="cached")
    assert journal.built == ["LiveQuote", "CachedQuote"]


async def test_cancellation_of_the_primary_is_never_swallowed(journal: Journal) -> None:
    mediator = request_mediator(cqrs.RequestHandlerFallback(BlockingQuote, CachedQuote))
    task = asyncio.create_task(mediator.send(GetQuote(sku="a")))
    await asyncio.wait_for(journal.inside.wait(), GUARD)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert task.cancelled()
    assert journal.built == ["BlockingQuote"]
    assert journal.log == []


async def test_a_failing_fallback_propagates_its_own_exception(journal: Journal) -> None:
    fallback_error = RuntimeError("cache down too")
    journal.errors["live"] = ConnectionError("pricing down")
    journal.errors["cached"] = fallback_error
    mediator = request_mediator(live_or_cached(failure_exceptions=(ConnectionError,)))

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(GetQuote(sku="a"))

    assert caught.value is fallback_error
    assert journal.log == ["live a", "cached a"]  # no handler's events are emitted


async def test_each_send_builds_fresh_handlers(journal: Journal) -> None:
    journal.errors["live"] = ConnectionError("pricing down")
    mediator = request_mediator(live_or_cached())

    await mediator.send(GetQuote(sku="a"))
    await mediator.send(GetQuote(sku="b"))

    assert journal.built == ["LiveQuote", "CachedQuote", "LiveQuote", "CachedQuote"]


# --- circuit breaker (plain requests) -----------------------------------------------------


async def test_the_breaker_runs_the_whole_primary_attempt_under_the_primary_class(
    journal: Journal,
) -> None:
    breaker = FakeBreaker()
    mediator = request_mediator(live_or_cached(circuit_breaker=breaker))

    response = await mediator.send(GetQuote(sku="a"))

    assert response == Quote(source="live")
    # One call, identified by the primary class, that builds and runs the primary.
    assert breaker.calls == [(LiveQuote, ())]
    assert journal.built == ["LiveQuote"]
    assert journal.log[0] == "live a"


async def test_an_open_circuit_skips_the_primary_and_runs_the_fallback(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    breaker = FakeBreaker()
    breaker.is_open = True
    # OpenError is not listed: the breaker's own refusal triggers the fallback anyway.
    mediator = request_mediator(
        live_or_cached(failure_exceptions=(KeyError,), circuit_breaker=breaker)
    )

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        response = await mediator.send(GetQuote(sku="a"))

    assert response == Quote(source="cached")
    assert breaker.identifiers == [LiveQuote]
    assert "live a" not in journal.log  # the primary's handle never ran
    assert journal.log == ["cached a", "event cached"]
    [warning] = warnings_of(caplog)
    assert "LiveQuote" in warning
    assert "CachedQuote" in warning
    assert "open" in warning


async def test_with_a_closed_breaker_an_unlisted_failure_still_propagates(
    journal: Journal,
) -> None:
    boom = ValueError("bad sku")
    journal.errors["live"] = boom
    breaker = FakeBreaker()
    mediator = request_mediator(
        live_or_cached(failure_exceptions=(ConnectionError,), circuit_breaker=breaker)
    )

    with pytest.raises(ValueError, match="bad sku") as caught:
        await mediator.send(GetQuote(sku="a"))

    assert caught.value is boom
    assert breaker.identifiers == [LiveQuote]
    assert journal.built == ["LiveQuote"]


async def test_the_breaker_is_never_asked_about_the_fallback(journal: Journal) -> None:
    journal.errors["live"] = ConnectionError("pricing down")
    breaker = FakeBreaker()
    mediator = request_mediator(live_or_cached(circuit_breaker=breaker))

    assert await mediator.send(GetQuote(sku="a")) == Quote(source="cached")
    assert breaker.identifiers == [LiveQuote]


# --- middlewares --------------------------------------------------------------------------


class CountingMiddleware:
    def __init__(self) -> None:
        self.requests: list[object] = []
        self.responses: list[object] = []

    async def __call__(self, request: Any, handle: Callable[[Any], Awaitable[Any]], /) -> Any:
        self.requests.append(request)
        JOURNAL.log.append("middleware enter")
        response = await handle(request)
        JOURNAL.log.append("middleware exit")
        self.responses.append(response)
        return response


async def test_middlewares_see_the_fallback_once_per_send(journal: Journal) -> None:
    journal.errors["live"] = ConnectionError("pricing down")
    middleware = CountingMiddleware()
    mediator = request_mediator(live_or_cached(), middlewares=[middleware])
    first, second = GetQuote(sku="a"), GetQuote(sku="b")

    await mediator.send(first)
    await mediator.send(second)

    assert middleware.requests == [first, second]
    assert middleware.responses == [Quote(source="cached"), Quote(source="cached")]
    assert journal.log[:4] == ["middleware enter", "live a", "cached a", "middleware exit"]


# --- streaming ----------------------------------------------------------------------------


@MODES
async def test_stream_continues_with_the_fallback_after_the_primary_fails(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    mediator = streaming_mediator(
        live_or_archive(failure_exceptions=(ConnectionError,)),
        concurrent_event_handle_enable=parallel,
    )
    got: list[str] = []

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["live 0", "live 1", "archive 0", "archive 1", "archive 2"]
    # Each item's events are processed before the item is handed on; the event the
    # primary raised just before failing ("live lost") is dropped.
    assert journal.log == [
        "live start",
        "event live 0",
        "got live 0",
        "event live 1",
        "got live 1",
        "live finally",
        "archive start",
        "event archive 0",
        "got archive 0",
        "event archive 1",
        "got archive 1",
        "event archive 2",
        "got archive 2",
        "archive finally",
    ]
    assert journal.built == ["LiveTicks", "ArchiveTicks"]
    [warning] = warnings_of(caplog)
    assert "LiveTicks" in warning
    assert "ArchiveTicks" in warning


async def test_a_stream_primary_failing_before_its_first_item_drops_its_events(
    journal: Journal,
) -> None:
    journal.live_items = 0
    mediator = streaming_mediator(live_or_archive())
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["archive 0", "archive 1", "archive 2"]
    assert "event live lost" not in journal.log
    assert journal.log[:3] == ["live start", "live finally", "archive start"]


async def test_stream_without_failure_never_builds_the_fallback(journal: Journal) -> None:
    journal.live_error = None
    mediator = streaming_mediator(live_or_archive())
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["live 0", "live 1"]
    assert journal.built == ["LiveTicks"]
    # Events raised after the last item still belong to the stream.
    assert journal.log[-2:] == ["live finally", "event live lost"]


async def test_stream_raises_an_unlisted_failure_after_the_delivered_items(
    journal: Journal,
) -> None:
    boom = ValueError("corrupt feed")
    journal.live_error = boom
    mediator = streaming_mediator(live_or_archive(failure_exceptions=(ConnectionError,)))
    got: list[str] = []

    with pytest.raises(ValueError, match="corrupt feed") as caught:
        await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert caught.value is boom
    assert got == ["live 0", "live 1"]
    assert journal.built == ["LiveTicks"]
    assert "event live lost" not in journal.log


async def test_stream_fallback_failure_propagates_after_its_items(journal: Journal) -> None:
    class BrokenArchive(Recorder, cqrs.StreamingRequestHandler[WatchTicks, Tick]):
        async def handle(self, request: WatchTicks) -> AsyncIterator[Tick]:
            yield Tick(source="archive", number=0)
            msg = "archive gone"
            raise RuntimeError(msg)

    mediator = streaming_mediator(cqrs.RequestHandlerFallback(LiveTicks, BrokenArchive))
    got: list[str] = []

    with pytest.raises(RuntimeError, match="archive gone"):
        await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["live 0", "live 1", "archive 0"]


async def test_closing_the_stream_mid_fallback_runs_its_finally_and_leaves_no_task(
    journal: Journal,
) -> None:
    before = asyncio.all_tasks()
    mediator = streaming_mediator(live_or_archive())
    stream = cast("AsyncGenerator[Tick, None]", mediator.stream(WatchTicks()))
    got: list[str] = []

    async for tick in stream:
        got.append(f"{tick.source} {tick.number}")
        if tick.source == "archive":
            break
    assert "archive finally" not in journal.log
    await stream.aclose()

    assert got == ["live 0", "live 1", "archive 0"]
    assert journal.log[-1] == "archive finally"
    assert journal.log.index("live finally") < journal.log.index("archive start")
    assert asyncio.all_tasks() == before


async def test_closing_the_stream_during_the_primary_never_builds_the_fallback(
    journal: Journal,
) -> None:
    journal.live_items = 5
    mediator = streaming_mediator(live_or_archive())
    stream = cast("AsyncGenerator[Tick, None]", mediator.stream(WatchTicks()))

    async for tick in stream:
        assert tick == Tick(source="live", number=0)
        break
    await stream.aclose()

    assert journal.log == ["live start", "event live 0", "live finally"]
    assert journal.built == ["LiveTicks"]


async def test_cancelling_a_stream_blocked_in_the_primary_never_starts_the_fallback(
    journal: Journal,
) -> None:
    before = asyncio.all_tasks()
    mediator = streaming_mediator(cqrs.RequestHandlerFallback(BlockingTicks, ArchiveTicks))
    got: list[str] = []
    task = asyncio.create_task(consume(mediator.stream(WatchTicks()), got))
    await asyncio.wait_for(journal.inside.wait(), GUARD)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert task.cancelled()
    assert got == ["blocking 0"]
    assert journal.built == ["BlockingTicks"]
    assert "blocking finally" in journal.log
    assert asyncio.all_tasks() == before


async def test_the_primary_is_closed_before_the_fallback_starts(journal: Journal) -> None:
    # The breaker opens while the primary is suspended at a yield: the primary's
    # generator is closed (its finally runs) before the fallback is even built.
    journal.live_items = 5
    journal.live_error = None
    breaker = FakeBreaker()
    mediator = streaming_mediator(live_or_archive(circuit_breaker=breaker))
    got: list[str] = []

    async for tick in mediator.stream(WatchTicks()):
        got.append(f"{tick.source} {tick.number}")
        JOURNAL.log.append(f"got {tick.source} {tick.number}")
        breaker.is_open = True

    assert got == ["live 0", "archive 0", "archive 1", "archive 2"]
    assert journal.log[:5] == [
        "live start",
        "event live 0",
        "got live 0",
        "live finally",
        "archive start",
    ]
    assert journal.built == ["LiveTicks", "ArchiveTicks"]


async def test_the_breaker_is_asked_once_per_pull_of_the_primary(journal: Journal) -> None:
    journal.live_error = None
    breaker = FakeBreaker()
    mediator = streaming_mediator(live_or_archive(circuit_breaker=breaker))
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["live 0", "live 1"]
    # Two items, then the end of the stream (a success, not a failure).
    assert breaker.identifiers == [LiveTicks, LiveTicks, LiveTicks]


async def test_an_open_circuit_never_iterates_the_primary_stream(journal: Journal) -> None:
    breaker = FakeBreaker()
    breaker.is_open = True
    mediator = streaming_mediator(
        live_or_archive(failure_exceptions=(KeyError,), circuit_breaker=breaker)
    )
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["archive 0", "archive 1", "archive 2"]
    assert "live start" not in journal.log
    assert "live finally" not in journal.log
    assert breaker.identifiers == [LiveTicks]


# --- construction errors ------------------------------------------------------------------


def _not_a_handler() -> object:
    return untyped(cqrs.RequestHandlerFallback)(Quote, CachedQuote)


def _an_instance() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote(), CachedQuote)


def _plain_and_streaming() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, StreamedQuote)


def _streaming_and_plain() -> object:
    return untyped(cqrs.RequestHandlerFallback)(StreamedQuote, LiveQuote)


def _other_request() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, PriceQuote)


def _other_response() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, QuoteAsPrice)


def _failure_exceptions_a_list() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, CachedQuote, [ConnectionError])


def _failure_exceptions_one_class() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, CachedQuote, ConnectionError)


def _failure_exceptions_a_base_exception() -> object:
    return untyped(cqrs.RequestHandlerFallback)(
        LiveQuote, CachedQuote, (ConnectionError, KeyboardInterrupt)
    )


def _failure_exceptions_an_instance() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, CachedQuote, (ConnectionError(),))


def _failure_exceptions_cancelled_error() -> object:
    return untyped(cqrs.RequestHandlerFallback)(LiveQuote, CachedQuote, (asyncio.CancelledError,))


def _breaker_without_methods() -> object:
    return untyped(cqrs.RequestHandlerFallback)(
        LiveQuote, CachedQuote, (), circuit_breaker=object()
    )


def _breaker_with_one_method() -> object:
    class HalfBreaker:
        async def call(self, identifier: object, func: object, *args: object) -> None:
            pass

    return untyped(cqrs.RequestHandlerFallback)(
        LiveQuote, CachedQuote, circuit_breaker=HalfBreaker()
    )


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (_not_a_handler, ("primary", "Quote", "must be handler classes")),
        (_an_instance, ("primary", "LiveQuote", "must be handler classes")),
        (_plain_and_streaming, ("LiveQuote", "StreamedQuote", "same kind")),
        (_streaming_and_plain, ("StreamedQuote", "LiveQuote", "same kind")),
        (
            _other_request,
            ("LiveQuote", "GetQuote", "PriceQuote", "GetPrice", "same request type"),
        ),
        (_other_response, ("LiveQuote", "Quote", "QuoteAsPrice", "Price")),
        (_failure_exceptions_a_list, ("failure_exceptions", "tuple")),
        (_failure_exceptions_one_class, ("failure_exceptions", "ConnectionError")),
        (_failure_exceptions_a_base_exception, ("failure_exceptions", "KeyboardInterrupt")),
        (_failure_exceptions_an_instance, ("failure_exceptions", "ConnectionError()")),
        (_failure_exceptions_cancelled_error, ("failure_exceptions", "CancelledError")),
        (_breaker_without_methods, ("circuit_breaker", "ICircuitBreaker")),
        (_breaker_with_one_method, ("circuit_breaker", "HalfBreaker")),
    ],
    ids=lambda value: getattr(value, "__name__", "")[1:] or None,
)
def test_request_fallback_construction_errors(
    build: Callable[[], object], names: tuple[str, ...]
) -> None:
    with pytest.raises(HandlerBindingTypeError) as caught:
        build()

    assert isinstance(caught.value, TypeError)
    message = str(caught.value)
    assert message.startswith("RequestHandlerFallback: ")
    for name in names:
        assert name in message


def test_request_fallback_of_the_same_class_twice_is_rejected() -> None:
    with pytest.raises(HandlerBindingTypeError, match="both the primary and the fallback"):
        untyped(cqrs.RequestHandlerFallback)(LiveQuote, LiveQuote)


@pytest.mark.parametrize(
    ("constructor", "handler"),
    [
        pytest.param(cqrs.RequestHandlerFallback, LiveQuote, id="request"),
        pytest.param(cqrs.EventHandlerFallback, EmailNotify, id="event"),
    ],
)
def test_fallback_of_the_same_class_twice_names_the_class(
    constructor: Callable[..., object], handler: type[object]
) -> None:
    with pytest.raises(HandlerBindingTypeError, match=handler.__name__):
        constructor(handler, handler)


def test_a_base_and_a_subclass_request_handler_pair_is_checked_at_bind() -> None:
    fallback = cqrs.RequestHandlerFallback(LiveQuote, UrgentQuote)
    requests = cqrs.RequestMap()

    with pytest.raises(HandlerBindingTypeError) as caught:
        requests.bind(GetQuote, cast("Any", fallback))  # the type checkers reject it too

    message = str(caught.value)
    assert "UrgentQuote" in message
    assert "GetUrgentQuote" in message
    assert "LiveQuote" not in message
    assert GetQuote not in requests


async def test_a_base_and_a_subclass_request_handler_pair_serves_the_subclass() -> None:
    fallback = cqrs.RequestHandlerFallback(UrgentQuote, LiveQuote)
    requests = cqrs.RequestMap()

    requests.bind(GetUrgentQuote, fallback)

    assert requests[GetUrgentQuote] is fallback


# --- bind-time errors ---------------------------------------------------------------------


def test_binding_a_fallback_to_a_request_neither_handler_handles_is_rejected() -> None:
    requests = cqrs.RequestMap()

    with pytest.raises(HandlerBindingTypeError) as caught:
        requests.bind(GetPrice, cast("Any", live_or_cached()))

    message = str(caught.value)
    assert "GetPrice" in message
    assert "LiveQuote" in message
    assert len(requests) == 0


def test_binding_a_request_twice_fallback_first_is_rejected() -> None:
    requests = cqrs.RequestMap()
    fallback = live_or_cached()
    requests.bind(GetQuote, fallback)

    with pytest.raises(HandlerAlreadyBoundError) as caught:
        requests.bind(GetQuote, LiveQuote)

    message = str(caught.value)
    assert "GetQuote" in message
    assert "RequestHandlerFallback(LiveQuote, CachedQuote)" in message
    assert requests[GetQuote] is fallback


async def test_sending_a_streaming_fallback_is_a_request_handler_type_error() -> None:
    mediator = request_mediator(cqrs.RequestHandlerFallback(StreamedQuote, OtherStreamedQuote))

    with pytest.raises(RequestHandlerTypeError) as caught:
        await mediator.send(GetQuote(sku="a"))

    message = str(caught.value)
    assert "RequestHandlerFallback(StreamedQuote, OtherStreamedQuote)" in message
    assert "stream()" in message


async def test_streaming_a_plain_fallback_is_a_request_handler_type_error() -> None:
    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(GetQuote, live_or_cached())

    mediator = bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=queries)

    with pytest.raises(RequestHandlerTypeError) as caught:
        mediator.stream(GetQuote(sku="a"))

    message = str(caught.value)
    assert "RequestHandlerFallback(LiveQuote, CachedQuote)" in message
    assert "send()" in message


def test_bootstrap_solves_the_fallback_member_of_a_request_fallback_up_front() -> None:
    with pytest.raises(DependencyResolutionError) as caught:
        request_mediator(cqrs.RequestHandlerFallback(LiveQuote, GatewayQuote))

    message = str(caught.value)
    assert "GatewayQuote" in message
    assert "SmsGateway" in message


# --- EventHandlerFallback -----------------------------------------------------------------


@MODES
async def test_event_fallback_runs_when_the_primary_fails(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    journal.errors["email"] = ConnectionError("smtp down")
    mediator = order_mediator(
        email_or_sms(failure_exceptions=(ConnectionError,)), parallel=parallel
    )

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        response = await mediator.send(PlaceOrder(order_id="o1"))

    assert response == Placed(order_id="o1")
    # Only the fallback's follow-up (Notified(sms)) is processed.
    assert journal.log == ["email o1", "sms o1", "notified sms"]
    assert journal.built == ["EmailNotify", "SmsNotify"]
    [warning] = warnings_of(caplog)
    assert "EmailNotify" in warning
    assert "SmsNotify" in warning
    assert errors_of(caplog) == []


@MODES
async def test_event_fallback_is_not_built_when_the_primary_succeeds(
    journal: Journal, parallel: bool
) -> None:
    mediator = order_mediator(email_or_sms(), parallel=parallel)

    await mediator.send(PlaceOrder(order_id="o1"))

    assert journal.log == ["email o1", "notified email"]
    assert journal.built == ["EmailNotify"]


@MODES
async def test_event_fallback_unlisted_failure_is_isolated_and_logged(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    boom = ValueError("bad address")
    journal.errors["email"] = boom
    mediator = order_mediator(
        email_or_sms(failure_exceptions=(ConnectionError,)), parallel=parallel, also=[AuditOrder]
    )

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        response = await mediator.send(PlaceOrder(order_id="o1"))

    assert response == Placed(order_id="o1")
    # Isolated: the other handler of the event still runs.
    assert journal.log == ["email o1", "audit o1"]
    assert journal.built == ["EmailNotify"]
    [record] = errors_of(caplog)
    assert "EventHandlerFallback(EmailNotify, SmsNotify)" in record.getMessage()
    assert "OrderPlaced" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is boom


@MODES
async def test_event_fallback_unlisted_failure_propagates_when_asked(
    journal: Journal, parallel: bool
) -> None:
    boom = ValueError("bad address")
    journal.errors["email"] = boom
    mediator = order_mediator(
        email_or_sms(failure_exceptions=(ConnectionError,)),
        parallel=parallel,
        propagate_event_errors=True,
    )

    with pytest.raises(ValueError, match="bad address") as caught:
        await mediator.send(PlaceOrder(order_id="o1"))

    assert caught.value is boom
    assert journal.built == ["EmailNotify"]


@MODES
async def test_event_fallback_failure_is_reported_like_any_handler_failure(
    journal: Journal, parallel: bool
) -> None:
    sms_error = RuntimeError("sms down too")
    journal.errors["email"] = ConnectionError("smtp down")
    journal.errors["sms"] = sms_error
    mediator = order_mediator(email_or_sms(), parallel=parallel, propagate_event_errors=True)

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(PlaceOrder(order_id="o1"))

    assert caught.value is sms_error
    assert journal.log == ["email o1", "sms o1"]


async def test_event_fallback_through_the_event_mediator(journal: Journal) -> None:
    journal.errors["email"] = ConnectionError("smtp down")

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, email_or_sms())
        mapper.bind(Notified, NotifiedHandler)

    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)

    await mediator.send(OrderPlaced(order_id="o2"))

    assert journal.log == ["email o2", "sms o2", "notified sms"]


async def test_event_fallback_with_an_open_circuit_skips_the_primary(journal: Journal) -> None:
    breaker = FakeBreaker()
    breaker.is_open = True
    mediator = order_mediator(email_or_sms(failure_exceptions=(KeyError,), circuit_breaker=breaker))

    await mediator.send(PlaceOrder(order_id="o1"))

    assert journal.log == ["sms o1", "notified sms"]
    assert breaker.identifiers == [EmailNotify]


def _event_not_a_handler() -> object:
    return untyped(cqrs.EventHandlerFallback)(LiveQuote, SmsNotify)


def _event_fallback_not_a_handler() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify, OrderPlaced)


def _event_an_instance() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify(), SmsNotify)


def _event_other_event() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify, ShippedNotify)


def _event_failure_exceptions_a_list() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify, SmsNotify, [ConnectionError])


def _event_failure_exceptions_a_base_exception() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify, SmsNotify, (KeyboardInterrupt,))


def _event_breaker_without_methods() -> object:
    return untyped(cqrs.EventHandlerFallback)(EmailNotify, SmsNotify, circuit_breaker="breaker")


@pytest.mark.parametrize(
    ("build", "names"),
    [
        (
            _event_not_a_handler,
            ("primary", "LiveQuote", "must be a subclass of EventHandler"),
        ),
        (
            _event_fallback_not_a_handler,
            ("fallback", "OrderPlaced", "must be a subclass of EventHandler"),
        ),
        (_event_an_instance, ("primary", "EmailNotify", "must be handler classes")),
        (
            _event_other_event,
            ("EmailNotify", "OrderPlaced", "ShippedNotify", "Shipped", "same event type"),
        ),
        (_event_failure_exceptions_a_list, ("failure_exceptions", "tuple")),
        (_event_failure_exceptions_a_base_exception, ("failure_exceptions", "KeyboardInterrupt")),
        (_event_breaker_without_methods, ("circuit_breaker", "'breaker'")),
    ],
    ids=lambda value: getattr(value, "__name__", "")[len("_event_") :] or None,
)
def test_event_fallback_construction_errors(
    build: Callable[[], object], names: tuple[str, ...]
) -> None:
    with pytest.raises(HandlerBindingTypeError) as caught:
        build()

    assert isinstance(caught.value, TypeError)
    message = str(caught.value)
    assert message.startswith("EventHandlerFallback: ")
    for name in names:
        assert name in message


def test_event_fallback_of_the_same_class_twice_is_rejected() -> None:
    with pytest.raises(HandlerBindingTypeError, match="both the primary and the fallback"):
        untyped(cqrs.EventHandlerFallback)(EmailNotify, EmailNotify)


def test_event_fallback_base_and_subclass_pair_is_checked_at_bind() -> None:
    fallback = cqrs.EventHandlerFallback(EmailNotify, UrgentNotify)
    events = cqrs.EventMap()

    with pytest.raises(HandlerBindingTypeError) as caught:
        events.bind(OrderPlaced, cast("Any", fallback))  # the type checkers reject it too

    assert "UrgentNotify" in str(caught.value)
    assert "UrgentOrderPlaced" in str(caught.value)
    events.bind(UrgentOrderPlaced, fallback)
    assert events[UrgentOrderPlaced] == (fallback,)


def test_event_fallback_bound_to_an_event_neither_handler_handles_is_rejected() -> None:
    events = cqrs.EventMap()

    with pytest.raises(HandlerBindingTypeError) as caught:
        events.bind(Shipped, cast("Any", email_or_sms()))

    assert "Shipped" in str(caught.value)
    assert "EmailNotify" in str(caught.value)


def test_bootstrap_solves_the_fallback_member_of_an_event_fallback_up_front() -> None:
    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, GatewaySmsNotify))

    with pytest.raises(DependencyResolutionError) as caught:
        bootstrap.bootstrap(di_container=di.Container(), domain_events_mapper=events)

    message = str(caught.value)
    assert "GatewaySmsNotify" in message
    assert "SmsGateway" in message


def test_events_bootstrap_solves_the_fallback_member_up_front() -> None:
    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, GatewaySmsNotify))

    with pytest.raises(DependencyResolutionError, match="GatewaySmsNotify"):
        events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)


async def test_event_fallback_member_gets_its_dependency_from_the_container(
    journal: Journal,
) -> None:
    journal.errors["email"] = ConnectionError("smtp down")
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(FakeGateway, scope="request"), SmsGateway))

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, GatewaySmsNotify))

    mediator = events_bootstrap.bootstrap(di_container=container, events_mapper=events)
    await mediator.send(OrderPlaced(order_id="o3"))

    assert journal.log == ["email o3", "sent o3"]


# --- repr and accessors -------------------------------------------------------------------


def test_repr_of_a_request_fallback_names_both_classes() -> None:
    assert repr(live_or_cached()) == "RequestHandlerFallback(LiveQuote, CachedQuote)"
    assert repr(live_or_archive()) == "RequestHandlerFallback(LiveTicks, ArchiveTicks)"


def test_repr_of_an_event_fallback_names_both_classes() -> None:
    assert repr(email_or_sms()) == "EventHandlerFallback(EmailNotify, SmsNotify)"


def test_fallback_accessors_return_what_was_given() -> None:
    breaker = FakeBreaker()
    fallback = live_or_cached(failure_exceptions=(ConnectionError,), circuit_breaker=breaker)

    assert fallback.primary is LiveQuote
    assert fallback.fallback is CachedQuote
    assert fallback.members == (LiveQuote, CachedQuote)
    assert fallback.failure_exceptions == (ConnectionError,)
    assert fallback.circuit_breaker is breaker
    assert fallback.streaming is False
    assert live_or_archive().streaming is True


# --- building the primary is part of its attempt ---------------------------------------


class Unreachable(Exception):
    """Raised by a constructor whose service cannot be reached."""


class ConnectingQuote(Recorder, cqrs.RequestHandler[GetQuote, Quote]):
    def __init__(self) -> None:
        super().__init__()
        fail_if_told("connect")

    async def handle(self, request: GetQuote) -> Quote:
        return Quote(source="connected")


class ConnectingTicks(Recorder, cqrs.StreamingRequestHandler[WatchTicks, Tick]):
    def __init__(self) -> None:
        super().__init__()
        fail_if_told("connect")

    async def handle(self, request: WatchTicks) -> AsyncIterator[Tick]:
        yield Tick(source="connected", number=0)


class ConnectingNotify(Recorder, cqrs.EventHandler[OrderPlaced]):
    def __init__(self) -> None:
        super().__init__()
        fail_if_told("connect")

    async def handle(self, event: OrderPlaced) -> None:
        JOURNAL.log.append(f"connected {event.order_id}")


class Missing(Protocol):
    def get(self) -> str: ...


class NeedsMissing(cqrs.RequestHandler[GetQuote, Quote]):
    def __init__(self, missing: Missing) -> None:
        self._missing = missing

    async def handle(self, request: GetQuote) -> Quote:
        return Quote(source=self._missing.get())


async def test_a_primary_whose_constructor_fails_falls_back(journal: Journal) -> None:
    journal.errors["connect"] = Unreachable("no route to the pricing service")
    mediator = request_mediator(
        cqrs.RequestHandlerFallback(ConnectingQuote, CachedQuote, failure_exceptions=(Unreachable,))
    )

    assert await mediator.send(GetQuote(sku="a")) == Quote(source="cached")
    assert journal.built == ["ConnectingQuote", "CachedQuote"]


async def test_a_streaming_primary_whose_constructor_fails_falls_back(journal: Journal) -> None:
    journal.errors["connect"] = Unreachable("no route to the feed")
    mediator = streaming_mediator(
        cqrs.RequestHandlerFallback(
            ConnectingTicks, ArchiveTicks, failure_exceptions=(Unreachable,)
        )
    )
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert got == ["archive 0", "archive 1", "archive 2"]


async def test_an_event_primary_whose_constructor_fails_falls_back(journal: Journal) -> None:
    journal.errors["connect"] = Unreachable("no route to the mail server")
    mediator = order_mediator(
        cqrs.EventHandlerFallback(ConnectingNotify, SmsNotify), propagate_event_errors=True
    )

    await mediator.send(PlaceOrder(order_id="o1"))

    assert journal.built == ["ConnectingNotify", "SmsNotify"]
    assert "connected o1" not in journal.log


async def test_an_open_circuit_does_not_even_build_the_primary(journal: Journal) -> None:
    breaker = FakeBreaker()
    breaker.is_open = True
    mediator = request_mediator(live_or_cached(circuit_breaker=breaker))

    assert await mediator.send(GetQuote(sku="a")) == Quote(source="cached")
    assert journal.built == ["CachedQuote"]


async def test_an_open_circuit_does_not_build_the_streaming_primary(journal: Journal) -> None:
    breaker = FakeBreaker()
    breaker.is_open = True
    mediator = streaming_mediator(live_or_archive(circuit_breaker=breaker))
    got: list[str] = []

    await asyncio.wait_for(consume(mediator.stream(WatchTicks()), got), GUARD)

    assert journal.built == ["ArchiveTicks"]
    assert got == ["archive 0", "archive 1", "archive 2"]


async def test_a_wiring_error_of_the_primary_is_never_hidden_by_the_fallback() -> None:
    # A custom container that cannot build the primary: bootstrap does not solve it up
    # front, so the error shows at the first request, and it must show.
    class NoMissing:
        async def resolve(self, type_: type[_T], /) -> _T:
            if type_ is NeedsMissing:
                msg = "the container cannot build NeedsMissing: Missing is not bound"
                raise DependencyResolutionError(msg)
            return type_()

    requests = cqrs.RequestMap()
    requests.bind(GetQuote, cqrs.RequestHandlerFallback(NeedsMissing, CachedQuote))
    mediator = cqrs.RequestMediator(requests, NoMissing())

    with pytest.raises(DependencyResolutionError, match="NeedsMissing"):
        await mediator.send(GetQuote(sku="a"))


# --- an event handler runs once per event ----------------------------------------------


def test_a_primary_bound_alone_and_in_a_fallback_would_run_twice_and_is_rejected() -> None:
    events = cqrs.EventMap()
    events.bind(OrderPlaced, EmailNotify)

    with pytest.raises(HandlerAlreadyBoundError, match="EmailNotify"):
        events.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, SmsNotify))


def test_two_fallbacks_with_the_same_primary_are_rejected() -> None:
    events = cqrs.EventMap()
    events.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, SmsNotify))

    with pytest.raises(HandlerAlreadyBoundError, match="EmailNotify"):
        events.bind(OrderPlaced, cqrs.EventHandlerFallback(EmailNotify, SmsNotify))


def test_one_fallback_class_may_back_several_primaries() -> None:
    events = cqrs.EventMap()
    first = cqrs.EventHandlerFallback(EmailNotify, SmsNotify)
    second = cqrs.EventHandlerFallback(ConnectingNotify, SmsNotify)

    events.bind(OrderPlaced, first)
    events.bind(OrderPlaced, second)

    assert events[OrderPlaced] == (first, second)
