"""Event processing (SPEC 2.4 `EventMediator`, 2.5): emitter, processor, failures."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import di
import pytest

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.events.event_processor import EventProcessor
from cqrs.exceptions import EventBrokerMissingError
from cqrs.message_brokers.protocol import Message

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

GUARD = 5.0  # seconds; only a guard against a hang, never used to coordinate

MODES = pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])


# --- events -----------------------------------------------------------------------------


class Happened(cqrs.DomainEvent, frozen=True):
    """A domain event; its handlers raise the follow-ups listed in `Journal.tree`."""

    name: str


class Exploded(cqrs.DomainEvent, frozen=True):
    name: str


class Ignored(cqrs.DomainEvent, frozen=True):
    pass


class Shipped(cqrs.Response):
    order_id: str
    quantity: int


# --- recorders: handlers are built by the container, so they report here ----------------


class Journal:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.tree: dict[str, tuple[str, ...]] = {}
        self.errors: dict[str, Exception] = {}
        # concurrency probes
        self.inside = 0
        self.peak = 0
        self.limit_reached = asyncio.Event()
        self.release = asyncio.Event()
        self.target = 0
        self.signals: dict[str, asyncio.Event] = {}

    def signal(self, name: str) -> asyncio.Event:
        return self.signals.setdefault(name, asyncio.Event())


JOURNAL: Journal


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - handlers are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class FollowUps:
    """Mixin: follow-up events taken from the journal's tree."""

    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def raise_follow_ups(self, name: str) -> None:
        self._events.extend(Happened(name=child) for child in JOURNAL.tree.get(name, ()))


class RecordingHandler(FollowUps, cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        JOURNAL.log.append(event.name)
        error = JOURNAL.errors.get(event.name)
        if error is not None:
            raise error
        self.raise_follow_ups(event.name)


class SecondHandler(FollowUps, cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        JOURNAL.log.append(f"second {event.name}")


class ExplodingHandler(cqrs.EventHandler[Exploded]):
    async def handle(self, event: Exploded) -> None:
        JOURNAL.log.append(f"exploding {event.name}")
        raise JOURNAL.errors[f"exploding {event.name}"]


class SurvivorHandler(FollowUps, cqrs.EventHandler[Exploded]):
    async def handle(self, event: Exploded) -> None:
        JOURNAL.log.append(f"survivor {event.name}")
        self.raise_follow_ups(f"survivor {event.name}")


class ProbeHandler(cqrs.EventHandler[Happened]):
    """Counts how many run at once; waits until the test releases them."""

    async def handle(self, event: Happened) -> None:
        JOURNAL.inside += 1
        JOURNAL.peak = max(JOURNAL.peak, JOURNAL.inside)
        try:
            if JOURNAL.inside == JOURNAL.target:
                JOURNAL.limit_reached.set()
            await JOURNAL.release.wait()
            # Give any handler that should not be running a chance to overlap.
            for _ in range(3):
                await asyncio.sleep(0)
            JOURNAL.log.append(event.name)
        finally:
            JOURNAL.inside -= 1


class RecordingBroker:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message) -> None:
        self.messages.append(message)


# --- builders ---------------------------------------------------------------------------


def event_map_of(*pairs: tuple[type[Any], type[Any]]) -> cqrs.EventMap:
    event_map = cqrs.EventMap()
    for event_type, handler_type in pairs:
        event_map.bind(event_type, handler_type)
    return event_map


def make_processor(
    event_map: cqrs.EventMap,
    *,
    parallel: bool,
    limit: int = 1,
    propagate: bool = False,
    broker: Any = None,
) -> EventProcessor:
    emitter = cqrs.EventEmitter(event_map, cqrs.DIContainer(di.Container()), message_broker=broker)
    return EventProcessor(event_map, emitter, limit, parallel, propagate)


def happened(*names: str) -> list[cqrs.IEvent]:
    return [Happened(name=name) for name in names]


def error_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "cqrs" and r.levelno == logging.ERROR]


# --- sequential and parallel processing -------------------------------------------------


async def test_sequential_mode_processes_events_and_follow_ups_breadth_first(
    journal: Journal,
) -> None:
    journal.tree = {"a": ("a1", "a2"), "b": ("b1",), "a1": ("a11",)}
    processor = make_processor(event_map_of((Happened, RecordingHandler)), parallel=False)

    await processor.emit_events(happened("a", "b"))

    assert journal.log == ["a", "b", "a1", "a2", "b1", "a11"]


@pytest.mark.parametrize("limit", [1, 2, 5])
async def test_parallel_mode_processes_every_follow_up_once_after_its_parent(
    journal: Journal, limit: int
) -> None:
    journal.tree = {"a": ("a1", "a2"), "b": ("b1",), "a1": ("a11",), "b1": ("b11", "b12")}
    processor = make_processor(
        event_map_of((Happened, RecordingHandler)), parallel=True, limit=limit
    )

    await processor.emit_events(happened("a", "b"))

    assert sorted(journal.log) == sorted(["a", "b", "a1", "a2", "b1", "a11", "b11", "b12"])
    for parent, children in journal.tree.items():
        for child in children:
            assert journal.log.index(parent) < journal.log.index(child)


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
async def test_parallel_limit_is_reached_and_never_exceeded(journal: Journal, limit: int) -> None:
    journal.target = limit
    names = [f"e{n}" for n in range(2 * limit + 1)]
    processor = make_processor(event_map_of((Happened, ProbeHandler)), parallel=True, limit=limit)

    run = asyncio.create_task(processor.emit_events(happened(*names)))
    await asyncio.wait_for(journal.limit_reached.wait(), GUARD)
    for _ in range(10):  # let anything beyond the limit start, if it could
        await asyncio.sleep(0)
    assert journal.inside == limit
    journal.release.set()
    await asyncio.wait_for(run, GUARD)

    assert journal.peak == limit
    assert sorted(journal.log) == sorted(names)


async def test_sequential_mode_runs_one_handler_at_a_time(journal: Journal) -> None:
    journal.target = 1
    journal.release.set()
    processor = make_processor(event_map_of((Happened, ProbeHandler)), parallel=False, limit=5)

    await processor.emit_events(happened("a", "b", "c"))

    assert journal.peak == 1
    assert journal.log == ["a", "b", "c"]


class QuickParentHandler(FollowUps, cqrs.EventHandler[Happened]):
    """`parent` finishes at once raising `child`; `slow` waits until `child` started."""

    async def handle(self, event: Happened) -> None:
        JOURNAL.log.append(f"start {event.name}")
        JOURNAL.signal(f"started {event.name}").set()
        if event.name == "slow":
            await asyncio.wait_for(JOURNAL.signal("started child").wait(), GUARD)
        if event.name == "parent":
            self._events.append(Happened(name="child"))
        JOURNAL.log.append(f"end {event.name}")


async def test_parallel_follow_up_starts_as_soon_as_its_parent_finishes(
    journal: Journal,
) -> None:
    processor = make_processor(event_map_of((Happened, QuickParentHandler)), parallel=True, limit=2)

    await asyncio.wait_for(processor.emit_events(happened("slow", "parent")), GUARD)

    # The child ran while its sibling `slow` was still running, not after it.
    assert journal.log.index("start child") < journal.log.index("end slow")
    assert journal.log.index("end parent") < journal.log.index("start child")


# --- failure isolation ------------------------------------------------------------------


def failing_setup(journal: Journal) -> tuple[cqrs.EventMap, list[cqrs.IEvent]]:
    """`x` has a failing and a surviving handler; `y` is handled with a follow-up `y1`."""
    journal.errors = {"exploding x": RuntimeError("x exploded")}
    journal.tree = {"y": ("y1",), "survivor x": ("x-follow-up",)}
    event_map = event_map_of(
        (Exploded, ExplodingHandler),
        (Exploded, SurvivorHandler),
        (Happened, RecordingHandler),
    )
    return event_map, [Exploded(name="x"), Happened(name="y")]


@MODES
async def test_failing_handler_does_not_stop_siblings_other_events_or_follow_ups(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    event_map, events = failing_setup(journal)
    processor = make_processor(event_map, parallel=parallel, limit=3)

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        await processor.emit_events(events)

    assert sorted(journal.log) == sorted(["exploding x", "survivor x", "x-follow-up", "y", "y1"])


@MODES
async def test_failure_is_logged_at_error_with_event_handler_and_traceback(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    event_map, events = failing_setup(journal)
    processor = make_processor(event_map, parallel=parallel, limit=3)

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        await processor.emit_events(events)

    [record] = error_records(caplog)
    message = record.getMessage()
    assert "ExplodingHandler" in message
    assert "Exploded" in message
    assert record.exc_info is not None
    assert record.exc_info[1] is journal.errors["exploding x"]
    assert "Traceback" in caplog.text
    assert "x exploded" in caplog.text


class Note(cqrs.Request[str]):
    text: str


class NoteHandler(cqrs.RequestHandler[Note, str]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return (Exploded(name="x"), Happened(name="y"))

    async def handle(self, request: Note) -> str:
        return f"noted {request.text}"


def note_mediator(event_map: cqrs.EventMap, **kwargs: Any) -> cqrs.RequestMediator:
    request_map = cqrs.RequestMap()
    request_map.bind(Note, NoteHandler)
    return cqrs.RequestMediator(
        request_map, cqrs.DIContainer(di.Container()), event_map=event_map, **kwargs
    )


@MODES
async def test_send_returns_normally_when_an_event_handler_fails_by_default(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    event_map, _ = failing_setup(journal)
    mediator = note_mediator(
        event_map, concurrent_event_handle_enable=parallel, max_concurrent_event_handlers=3
    )

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        response = await mediator.send(Note(text="hi"))

    assert response == "noted hi"
    assert len(error_records(caplog)) == 1
    assert "y1" in journal.log


@MODES
async def test_send_raises_event_failure_when_propagating(journal: Journal, parallel: bool) -> None:
    event_map, _ = failing_setup(journal)
    mediator = note_mediator(
        event_map,
        concurrent_event_handle_enable=parallel,
        max_concurrent_event_handlers=3,
        propagate_event_errors=True,
    )

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(Note(text="hi"))

    assert caught.value is journal.errors["exploding x"]
    assert "y1" in journal.log


@MODES
async def test_single_failure_propagates_as_itself_after_siblings_ran(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    event_map, events = failing_setup(journal)
    processor = make_processor(event_map, parallel=parallel, limit=3, propagate=True)

    with pytest.raises(RuntimeError) as caught:
        await processor.emit_events(events)

    assert caught.value is journal.errors["exploding x"]
    assert sorted(journal.log) == sorted(["exploding x", "survivor x", "x-follow-up", "y", "y1"])
    assert error_records(caplog) == []


@MODES
async def test_several_failures_propagate_as_an_exception_group(
    journal: Journal, parallel: bool
) -> None:
    journal.errors = {"a": ValueError("a failed"), "b1": KeyError("b1 failed")}
    journal.tree = {"b": ("b1",), "c": ("c1",)}
    processor = make_processor(
        event_map_of((Happened, RecordingHandler)), parallel=parallel, limit=3, propagate=True
    )

    with pytest.raises(ExceptionGroup) as caught:
        await processor.emit_events(happened("a", "b", "c"))

    raised = caught.value.exceptions
    assert len(raised) == 2
    assert {id(error) for error in raised} == {id(error) for error in journal.errors.values()}
    assert sorted(journal.log) == sorted(["a", "b", "c", "b1", "c1"])


@MODES
async def test_failures_of_two_handlers_of_one_event_are_grouped(
    journal: Journal, parallel: bool
) -> None:
    journal.errors = {"exploding x": RuntimeError("x"), "exploding z": RuntimeError("z")}
    processor = make_processor(
        event_map_of((Exploded, ExplodingHandler), (Exploded, SurvivorHandler)),
        parallel=parallel,
        limit=2,
        propagate=True,
    )

    with pytest.raises(ExceptionGroup) as caught:
        await processor.emit_events([Exploded(name="x"), Exploded(name="z")])

    assert len(caught.value.exceptions) == 2
    assert sorted(journal.log) == sorted(["exploding x", "survivor x", "exploding z", "survivor z"])


# --- tasks ------------------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("propagate", [False, True])
async def test_no_task_outlives_emit_events(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool, propagate: bool
) -> None:
    journal.tree = {"a": ("a1", "a2"), "b": ("b1",), "a1": ("a11",)}
    journal.errors = {"c": RuntimeError("c failed"), "a2": RuntimeError("a2 failed")}
    processor = make_processor(
        event_map_of((Happened, RecordingHandler)), parallel=parallel, limit=3, propagate=propagate
    )
    before = asyncio.all_tasks()

    try:
        await processor.emit_events(happened("a", "b", "c", "d"))
    except ExceptionGroup:
        assert propagate

    assert asyncio.all_tasks() == before
    assert sorted(journal.log) == sorted(["a", "b", "c", "d", "a1", "a2", "b1", "a11"])


async def test_cancelling_emit_events_leaves_no_task(journal: Journal) -> None:
    journal.target = 3
    processor = make_processor(event_map_of((Happened, ProbeHandler)), parallel=True, limit=3)
    before = asyncio.all_tasks()

    run = asyncio.create_task(processor.emit_events(happened("a", "b", "c", "d")))
    await asyncio.wait_for(journal.limit_reached.wait(), GUARD)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    assert journal.inside == 0  # every running handler was cancelled and unwound
    assert asyncio.all_tasks() == before


# --- notification events ----------------------------------------------------------------


def shipped(order_id: str = "o-1") -> cqrs.NotificationEvent[Shipped]:
    return cqrs.NotificationEvent[Shipped](
        event_name="order shipped",
        topic="orders",
        payload=Shipped(order_id=order_id, quantity=2),
    )


async def test_emitter_sends_a_notification_event_to_the_broker_as_a_message() -> None:
    broker = RecordingBroker()
    emitter = cqrs.EventEmitter(cqrs.EventMap(), cqrs.DIContainer(di.Container()), broker)
    event = shipped()

    follow_ups = await emitter.emit(event)

    assert list(follow_ups) == []
    [message] = broker.messages
    assert isinstance(message, Message)
    assert message.message_name == type(event).__name__
    assert message.message_id == event.event_id
    assert isinstance(message.message_id, uuid.UUID)
    assert message.topic == "orders"
    assert message.topic == event.topic
    assert message.payload == event.to_dict()
    assert message.payload["payload"] == {"order_id": "o-1", "quantity": 2}


@MODES
async def test_processor_sends_every_notification_event_to_the_broker(parallel: bool) -> None:
    broker = RecordingBroker()
    processor = make_processor(cqrs.EventMap(), parallel=parallel, limit=2, broker=broker)
    events = [shipped("o-1"), shipped("o-2"), shipped("o-3")]

    await processor.emit_events(events)

    assert sorted(m.message_id for m in broker.messages) == sorted(e.event_id for e in events)


async def test_emitter_without_broker_raises_broker_missing_for_a_notification() -> None:
    emitter = cqrs.EventEmitter(cqrs.EventMap(), cqrs.DIContainer(di.Container()))

    with pytest.raises(EventBrokerMissingError) as caught:
        await emitter.emit(shipped())

    assert isinstance(caught.value, RuntimeError)


@MODES
async def test_missing_broker_is_logged_like_a_handler_failure(
    journal: Journal, caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    processor = make_processor(event_map_of((Happened, RecordingHandler)), parallel=parallel)

    with caplog.at_level(logging.ERROR, logger="cqrs"):
        await processor.emit_events([shipped(), Happened(name="a")])

    [record] = error_records(caplog)
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], EventBrokerMissingError)
    assert "PydanticNotificationEvent" in record.getMessage()
    assert journal.log == ["a"]


@MODES
async def test_missing_broker_propagates_like_a_handler_failure(
    journal: Journal, parallel: bool
) -> None:
    processor = make_processor(
        event_map_of((Happened, RecordingHandler)), parallel=parallel, propagate=True
    )

    with pytest.raises(EventBrokerMissingError):
        await processor.emit_events([shipped(), Happened(name="a")])

    assert journal.log == ["a"]


# --- unbound domain events --------------------------------------------------------------


@MODES
async def test_domain_event_without_handler_logs_a_warning_and_is_no_error(
    caplog: pytest.LogCaptureFixture, parallel: bool
) -> None:
    processor = make_processor(cqrs.EventMap(), parallel=parallel, propagate=True)

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        await processor.emit_events([Ignored()])

    warnings = [r for r in caplog.records if r.name == "cqrs" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Ignored" in warnings[0].getMessage()
    assert error_records(caplog) == []


async def test_emitter_returns_no_follow_ups_for_an_unbound_domain_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter = cqrs.EventEmitter(cqrs.EventMap(), cqrs.DIContainer(di.Container()))

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        follow_ups = await emitter.emit(Ignored())

    assert list(follow_ups) == []
    assert any(r.levelno == logging.WARNING and "Ignored" in r.getMessage() for r in caplog.records)


# --- EventEmitter.emit ------------------------------------------------------------------


async def test_emitter_emit_returns_follow_ups_without_handling_them(journal: Journal) -> None:
    journal.tree = {"a": ("a1", "a2")}
    emitter = cqrs.EventEmitter(
        event_map_of((Happened, RecordingHandler)), cqrs.DIContainer(di.Container())
    )

    follow_ups = await emitter.emit(Happened(name="a"))

    assert list(follow_ups) == happened("a1", "a2")
    assert journal.log == ["a"]


async def test_emitter_emit_runs_every_handler_then_raises_the_failure(journal: Journal) -> None:
    journal.errors = {"exploding x": RuntimeError("x exploded")}
    emitter = cqrs.EventEmitter(
        event_map_of((Exploded, ExplodingHandler), (Exploded, SurvivorHandler)),
        cqrs.DIContainer(di.Container()),
    )

    with pytest.raises(RuntimeError) as caught:
        await emitter.emit(Exploded(name="x"))

    assert caught.value is journal.errors["exploding x"]
    assert journal.log == ["exploding x", "survivor x"]


# --- EventMediator ----------------------------------------------------------------------


async def test_event_mediator_runs_handlers_in_bind_order_then_follow_ups(
    journal: Journal,
) -> None:
    journal.tree = {"a": ("a1",), "a1": ("a11",)}
    mediator = cqrs.EventMediator(
        event_map_of((Happened, RecordingHandler), (Happened, SecondHandler)),
        cqrs.DIContainer(di.Container()),
    )

    await mediator.send(Happened(name="a"))

    assert journal.log == ["a", "second a", "a1", "second a1", "a11", "second a11"]


async def test_event_mediator_raises_a_failure_after_running_every_handler(
    journal: Journal,
) -> None:
    journal.errors = {"exploding x": RuntimeError("x exploded")}
    journal.tree = {"survivor x": ("x-follow-up",)}
    mediator = cqrs.EventMediator(
        event_map_of(
            (Exploded, ExplodingHandler),
            (Exploded, SurvivorHandler),
            (Happened, RecordingHandler),
        ),
        cqrs.DIContainer(di.Container()),
    )

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(Exploded(name="x"))

    assert caught.value is journal.errors["exploding x"]
    assert journal.log == ["exploding x", "survivor x", "x-follow-up"]


async def test_event_mediator_groups_failures_of_handlers_and_follow_ups(
    journal: Journal,
) -> None:
    journal.errors = {
        "exploding x": RuntimeError("x exploded"),
        "x-follow-up": ValueError("follow-up failed"),
    }
    journal.tree = {"survivor x": ("x-follow-up",)}
    mediator = cqrs.EventMediator(
        event_map_of(
            (Exploded, ExplodingHandler),
            (Exploded, SurvivorHandler),
            (Happened, RecordingHandler),
        ),
        cqrs.DIContainer(di.Container()),
    )

    with pytest.raises(ExceptionGroup) as caught:
        await mediator.send(Exploded(name="x"))

    assert list(caught.value.exceptions) == [
        journal.errors["exploding x"],
        journal.errors["x-follow-up"],
    ]
    assert journal.log == ["exploding x", "survivor x", "x-follow-up"]


async def test_events_bootstrap_builds_an_event_mediator_that_handles_events(
    journal: Journal,
) -> None:
    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(Happened, RecordingHandler)
        mapper.bind(Happened, SecondHandler)

    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)

    await mediator.send(Happened(name="a"))

    assert journal.log == ["a", "second a"]
