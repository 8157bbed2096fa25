"""`EventEmitter` and `EventProcessor` as extension points (issue 10, drop-in item 3).

python-cqrs code subclasses `EventEmitter` and overrides `emit`, and its tests patch
`emitter.emit` with an `AsyncMock`: the processor and every mediator must call that
`emit`. `EventProcessor` works without an emitter (then it does nothing).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Sequence
from unittest.mock import AsyncMock

import di
import pytest

import cqrs
from cqrs.events.event_processor import EventProcessor
from cqrs.requests import bootstrap

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

MODES = pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])

SEEN: list[str] = []


@pytest.fixture(autouse=True)
def _clean() -> None:
    SEEN.clear()


class Done(cqrs.Response):
    n: int


class Work(cqrs.Request[Done]):
    n: int


class Feed(cqrs.Request[Done]):
    n: int


class Worked(cqrs.DomainEvent, frozen=True):
    n: int


class Echoed(cqrs.DomainEvent, frozen=True):
    n: int


class WorkHandler(cqrs.RequestHandler[Work, Done]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Work) -> Done:
        self._events.extend(Worked(n=request.n + i) for i in range(2))
        return Done(n=request.n)


class FeedHandler(cqrs.StreamingRequestHandler[Feed, Done]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    def clear_events(self) -> None:
        self._events = []

    async def handle(self, request: Feed) -> AsyncIterator[Done]:
        for i in range(request.n):
            self._events.append(Worked(n=i))
            yield Done(n=i)


class WorkedHandler(cqrs.EventHandler[Worked]):
    async def handle(self, event: Worked) -> None:
        SEEN.append(f"handler {event.n}")


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Work, WorkHandler)
    mapper.bind(Feed, FeedHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(Worked, WorkedHandler)


def event_map() -> cqrs.EventMap:
    mapper = cqrs.EventMap()
    events(mapper)
    return mapper


def resolver() -> cqrs.DIContainer:
    return cqrs.DIContainer(di.Container())


class Recording(cqrs.EventEmitter):
    """Records each event; a `Worked` event is echoed once as an `Echoed` follow-up."""

    async def emit(self, event: cqrs.IEvent) -> Sequence[cqrs.IEvent]:
        SEEN.append(f"emit {type(event).__name__} {getattr(event, 'n', '')}")
        if isinstance(event, Worked):
            return [Echoed(n=event.n)]
        return []


class Delegating(cqrs.EventEmitter):
    async def emit(self, event: cqrs.IEvent) -> Sequence[cqrs.IEvent]:
        SEEN.append("before")
        return await super().emit(event)


class Failing(cqrs.EventEmitter):
    async def emit(self, event: cqrs.IEvent) -> Sequence[cqrs.IEvent]:
        msg = f"emit failed on {type(event).__name__}"
        raise RuntimeError(msg)


def mediator(
    emitter: cqrs.EventEmitter, *, parallel: bool, propagate: bool = False
) -> cqrs.RequestMediator:
    return bootstrap.setup_mediator(
        emitter,
        resolver(),
        [],
        requests,
        concurrent_event_handle_enable=parallel,
        max_concurrent_event_handlers=3,
        propagate_event_errors=propagate,
    )


# --- a subclass's emit ------------------------------------------------------------------


@MODES
async def test_the_mediator_calls_an_overridden_emit_and_processes_its_follow_ups(
    parallel: bool,
) -> None:
    emitter = Recording(event_map(), resolver())

    await mediator(emitter, parallel=parallel).send(Work(n=1))

    assert sorted(SEEN) == ["emit Echoed 1", "emit Echoed 2", "emit Worked 1", "emit Worked 2"]


async def test_the_streaming_mediator_calls_an_overridden_emit() -> None:
    emitter = Recording(event_map(), resolver())
    streaming = bootstrap.setup_streaming_mediator(emitter, resolver(), [], requests)

    items = [item.n async for item in streaming.stream(Feed(n=2))]

    assert items == [0, 1]
    assert SEEN == ["emit Worked 0", "emit Echoed 0", "emit Worked 1", "emit Echoed 1"]


@MODES
async def test_an_overridden_emit_can_delegate_to_the_default(
    parallel: bool,
) -> None:
    emitter = Delegating(event_map(), resolver())

    await mediator(emitter, parallel=parallel).send(Work(n=5))

    assert sorted(SEEN) == ["before", "before", "handler 5", "handler 6"]


@MODES
async def test_an_overridden_emit_that_raises_is_logged_like_a_handler_failure(
    parallel: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter = Failing(event_map(), resolver())

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        response = await mediator(emitter, parallel=parallel).send(Work(n=1))

    assert response == Done(n=1)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert all("Failing.emit" in r.getMessage() for r in failures)
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in failures if r.exc_info is not None)


async def test_an_overridden_emit_that_raises_propagates_when_asked() -> None:
    emitter = Failing(event_map(), resolver())

    with pytest.raises(ExceptionGroup) as caught:
        await mediator(emitter, parallel=False, propagate=True).send(Work(n=1))

    assert [str(error) for error in caught.value.exceptions] == ["emit failed on Worked"] * 2


# --- patching an instance ------------------------------------------------------------------


@MODES
async def test_an_emit_patched_on_the_instance_is_the_one_called(
    parallel: bool,
) -> None:
    emitter = bootstrap.setup_event_emitter(resolver(), events)
    emitter.emit = AsyncMock(return_value=[])  # type: ignore[method-assign]  # as python-cqrs tests do

    await mediator(emitter, parallel=parallel).send(Work(n=3))

    assert emitter.emit.await_count == 2
    sent = sorted(call.args[0].n for call in emitter.emit.await_args_list)
    assert sent == [3, 4]
    assert SEEN == []  # the real handlers never ran


async def test_a_patched_emit_that_raises_is_reported_like_a_handler_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter = bootstrap.setup_event_emitter(resolver(), events)
    emitter.emit = AsyncMock(side_effect=ValueError("broken"))  # type: ignore[method-assign]  # as above

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        await mediator(emitter, parallel=False).send(Work(n=3))

    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Event handler EventEmitter.emit failed on Worked"
    ] * 2


async def test_patching_after_the_mediator_was_built_takes_effect() -> None:
    emitter = bootstrap.setup_event_emitter(resolver(), events)
    built = mediator(emitter, parallel=False)
    await built.send(Work(n=1))
    assert SEEN == ["handler 1", "handler 2"]

    emitter.emit = AsyncMock(return_value=())  # type: ignore[method-assign]  # as above
    await built.send(Work(n=7))

    assert SEEN == ["handler 1", "handler 2"]
    assert emitter.emit.await_count == 2


async def test_the_default_emitter_goes_through_emit_settled() -> None:
    class Settled(cqrs.EventEmitter):
        async def emit_settled(self, event: cqrs.IEvent) -> object:  # type: ignore[override]  # spy
            SEEN.append("settled")
            return await super().emit_settled(event)

    emitter = Settled(event_map(), resolver())

    await mediator(emitter, parallel=False).send(Work(n=1))

    assert SEEN == ["settled", "handler 1", "settled", "handler 2"]


# --- EventProcessor without an emitter ---------------------------------------------------


async def test_event_processor_without_an_emitter_does_nothing() -> None:
    processor = EventProcessor(event_map=event_map())

    await processor.emit_events([Worked(n=1), Worked(n=2)])

    assert SEEN == []
    assert processor.event_map[Worked] == (WorkedHandler,)


async def test_event_processor_with_an_emitter_subclass() -> None:
    processor = EventProcessor(
        event_map(), Recording(event_map(), resolver()), concurrent_event_handle_enable=False
    )

    await processor.emit_events([Worked(n=1)])

    assert SEEN == ["emit Worked 1", "emit Echoed 1"]
