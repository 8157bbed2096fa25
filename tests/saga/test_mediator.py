"""`SagaMediator`, `SagaMap` and `cqrs.saga.bootstrap`: running the saga bound to a context.

Events raised by steps (domain events to their handlers, notification events to the
broker) are processed before each step's result is yielded; the map checks what is
bound; python-cqrs's documented setup (steps with injected services) works as is.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import di
import pytest
from di import dependent
from tests.saga.sagas import (
    GUARD,
    Charge,
    InventoryReserved,
    Journal,
    OrderContext,
    OrderSaga,
    Reserve,
    Ship,
    di_container,
    status_of,
)

import cqrs
from cqrs.exceptions import (
    HandlerAlreadyBoundError,
    HandlerBindingTypeError,
    InvalidConfigurationError,
)
from cqrs.message_brokers.protocol import Message
from cqrs.saga import bootstrap
from cqrs.saga.errors import SagaConcurrencyError, SagaDoesNotExist
from cqrs.saga.map import SagaMap
from cqrs.saga.mediator import SagaMediator
from cqrs.saga.models import SagaContext
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage.enums import SagaStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.protocol import ISagaStorage


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def storage() -> MemorySagaStorage:
    return MemorySagaStorage()


class OrderPlaced(cqrs.NotificationEvent[dict[str, str]], frozen=True):
    pass


class OnInventoryReserved(cqrs.EventHandler[InventoryReserved]):
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def handle(self, event: InventoryReserved) -> None:
        self._journal.calls.append(f"handled InventoryReserved {event.order_id}")


class FailingOnInventoryReserved(cqrs.EventHandler[InventoryReserved]):
    async def handle(self, event: InventoryReserved) -> None:
        msg = f"projection down for {event.order_id}"
        raise LookupError(msg)


class Announce(SagaStepHandler[OrderContext, None]):
    """Raises a notification event."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return list(self._events)

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        await self._journal.record("act", "Announce")
        self._events.append(
            OrderPlaced(event_name="order_placed", topic="orders", payload={"id": context.order_id})
        )
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        await self._journal.record("compensate", "Announce")


class AnnouncedSaga(Saga[OrderContext]):
    steps = [Reserve, Announce]


class RecordingBroker:
    """A `MessageBroker`: `async send_message(message)`."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)
        self._journal.calls.append(f"sent {message.message_name}")


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(InventoryReserved, OnInventoryReserved)


def order_sagas(mapper: SagaMap) -> None:
    mapper.bind(OrderContext, OrderSaga)


async def consume(journal: Journal, stream: AsyncIterator[SagaStepResult[Any, Any]]) -> list[str]:
    """Run a stream, noting in the journal when each result reached the caller."""
    ids: list[str] = []
    async for result in stream:
        journal.calls.append(f"yielded {result.step_id}")
        ids.append(result.step_id or "")
    return ids


# --- bootstrap and events --------------------------------------------------------------


async def test_bootstrap_runs_the_bound_saga(journal, storage) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=order_sagas,
        saga_storage=storage,
        compensation_retry_delay=0.001,
    )
    saga_id = uuid.uuid4()

    results = [r async for r in mediator.stream(OrderContext(order_id="o1"), saga_id=saga_id)]

    assert isinstance(mediator, SagaMediator)
    assert isinstance(mediator, cqrs.SagaMediator)
    assert [(r.step_type, r.saga_id) for r in results] == [
        (Reserve, saga_id),
        (Charge, saga_id),
        (Ship, saga_id),
    ]
    assert mediator.storage is storage
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_domain_events_are_handled_before_the_step_result_is_yielded(
    journal, storage
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=order_sagas,
        domain_events_mapper=events_mapper,
        saga_storage=storage,
    )

    await consume(journal, mediator.stream(OrderContext(order_id="o1")))

    assert journal.calls == [
        "act Reserve",
        "handled InventoryReserved o1",
        "yielded Reserve",
        "act Charge",
        "yielded Charge",
        "act Ship",
        "yielded Ship",
    ]


async def test_notification_events_go_to_the_broker_before_the_result(journal, storage) -> None:
    broker = RecordingBroker(journal)
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        message_broker=broker,
        sagas_mapper=lambda mapper: mapper.bind(OrderContext, AnnouncedSaga),
        domain_events_mapper=events_mapper,
        saga_storage=storage,
    )

    await consume(journal, mediator.stream(OrderContext(order_id="o1")))

    assert journal.calls == [
        "act Reserve",
        "handled InventoryReserved o1",
        "yielded Reserve",
        "act Announce",
        "sent OrderPlaced",
        "yielded Announce",
    ]
    [message] = broker.messages
    assert (message.topic, message.message_name) == ("orders", "OrderPlaced")
    assert message.payload["payload"] == {"id": "o1"}


async def test_a_transaction_run_directly_emits_no_events(journal, storage) -> None:
    broker = RecordingBroker(journal)
    saga = AnnouncedSaga()

    async with saga.transaction(
        OrderContext(order_id="o1"), cqrs.DIContainer(di_container(journal)), storage
    ) as transaction:
        [_ async for _ in transaction]

    assert broker.messages == []
    assert journal.calls == ["act Reserve", "act Announce"]


async def test_events_of_steps_skipped_on_resume_are_not_emitted_again(journal, storage) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=order_sagas,
        domain_events_mapper=events_mapper,
        saga_storage=storage,
    )
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    stream = mediator.stream(context, saga_id)
    await stream.__anext__()
    await stream.aclose()
    journal.calls.clear()

    await consume(journal, mediator.stream(context, saga_id))

    assert journal.calls == ["act Charge", "yielded Charge", "act Ship", "yielded Ship"]


async def test_a_failing_event_handler_is_logged_and_the_saga_goes_on(
    journal, storage, caplog
) -> None:
    caplog.set_level(logging.ERROR)
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=order_sagas,
        domain_events_mapper=lambda m: m.bind(InventoryReserved, FailingOnInventoryReserved),
        saga_storage=storage,
    )
    saga_id = uuid.uuid4()

    ids = await consume(journal, mediator.stream(OrderContext(order_id="o1"), saga_id))

    assert ids == ["Reserve", "Charge", "Ship"]
    assert any("FailingOnInventoryReserved" in r.getMessage() for r in caplog.records)
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_propagated_event_errors_fail_the_saga_and_compensate_the_step(
    journal, storage
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=order_sagas,
        domain_events_mapper=lambda m: m.bind(InventoryReserved, FailingOnInventoryReserved),
        saga_storage=storage,
        propagate_event_errors=True,
        compensation_retry_delay=0.001,
    )
    saga_id = uuid.uuid4()

    with pytest.raises(LookupError, match="projection down for o1"):
        await consume(journal, mediator.stream(OrderContext(order_id="o1"), saga_id))

    # The step had completed: it is compensated like any other.
    assert journal.calls == ["act Reserve", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


class BrokenEvents(Charge):
    error: type[Exception] = RuntimeError

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        msg = "events are broken"
        raise self.error(msg)


class UninitialisedEvents(BrokenEvents):
    error = AttributeError  # e.g. `self._events` never set


async def run_broken_events(
    journal: Journal, storage: MemorySagaStorage, step: type[BrokenEvents]
) -> list[str]:
    class BrokenEventsSaga(Saga[OrderContext]):
        steps = [Reserve, step]

    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=lambda m: m.bind(OrderContext, BrokenEventsSaga),
        saga_storage=storage,
    )
    return await consume(journal, mediator.stream(OrderContext(order_id="o1")))


async def test_a_broken_events_property_is_logged_and_does_not_undo_the_step(
    journal, storage, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs.saga")

    ids = await run_broken_events(journal, storage, BrokenEvents)

    assert ids == ["Reserve", "BrokenEvents"]
    assert journal.compensations() == []
    assert any(
        "could not read the events of BrokenEvents" in r.getMessage() for r in caplog.records
    )


async def test_an_attribute_error_in_the_events_property_is_logged_too(
    journal, storage, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs.saga")

    ids = await run_broken_events(journal, storage, UninitialisedEvents)

    assert ids == ["Reserve", "UninitialisedEvents"]
    assert any(
        "could not read the events of UninitialisedEvents" in r.getMessage() for r in caplog.records
    )


async def test_on_startup_hooks_run_and_middlewares_are_not_applied(journal, storage) -> None:
    started: list[str] = []

    class Spy:
        async def __call__(self, request: object, handle: Any) -> Any:
            started.append("middleware")
            return await handle(request)

    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        middlewares=[Spy()],
        sagas_mapper=order_sagas,
        on_startup=[lambda: started.append("startup")],
        saga_storage=storage,
    )

    await consume(journal, mediator.stream(OrderContext(order_id="o1")))

    assert started == ["startup"]


async def test_breaking_out_of_a_stream_releases_the_lease_once_it_is_closed(
    journal, storage
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal), sagas_mapper=order_sagas, saga_storage=storage
    )
    saga_id = uuid.uuid4()

    async with contextlib.aclosing(mediator.stream(OrderContext(order_id="o1"), saga_id)) as stream:
        async for _ in stream:
            break

    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, None)
    assert journal.calls == ["act Reserve"]


async def test_a_plain_break_releases_the_lease_when_the_stream_is_finalized(
    journal, storage
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal), sagas_mapper=order_sagas, saga_storage=storage
    )
    saga_id = uuid.uuid4()

    async for _ in mediator.stream(OrderContext(order_id="o1"), saga_id):
        break
    # The abandoned generator is closed by the event loop's async-generator hook.
    for _ in range(100):
        if (await storage.load_saga(saga_id)).lease_owner is None:
            break
        await asyncio.sleep(0)

    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, None)
    assert journal.compensations() == []


async def test_two_streams_of_one_mediator_cannot_run_the_same_saga_at_once(
    journal, storage
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal), sagas_mapper=order_sagas, saga_storage=storage
    )
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    first = asyncio.create_task(consume(journal, mediator.stream(OrderContext("o1"), saga_id)))
    await asyncio.wait_for(entered.wait(), GUARD)
    gate.set()  # would let a second Charge through too

    try:
        with pytest.raises(SagaConcurrencyError):
            await consume(journal, mediator.stream(OrderContext(order_id="o1"), saga_id))
    finally:
        await asyncio.wait_for(first, GUARD)

    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]


# --- which saga runs ---------------------------------------------------------------------


@dataclasses.dataclass
class InvoiceContext(SagaContext):
    invoice_id: str


@dataclasses.dataclass
class RushOrder(OrderContext):
    deadline_hours: int = 24


class RushSaga(Saga[RushOrder]):
    steps = [Reserve, Ship]


def test_an_unbound_context_raises_when_stream_is_called(journal) -> None:
    mediator = bootstrap.bootstrap(di_container=di_container(journal), sagas_mapper=order_sagas)

    with pytest.raises(SagaDoesNotExist, match="InvoiceContext") as raised:
        mediator.stream(InvoiceContext(invoice_id="i1"))  # no iteration needed

    assert isinstance(raised.value, LookupError)


async def test_a_subclass_context_runs_its_base_classes_saga(journal, storage) -> None:
    mediator = bootstrap.bootstrap(
        di_container=di_container(journal), sagas_mapper=order_sagas, saga_storage=storage
    )
    saga_id = uuid.uuid4()

    ids = await consume(journal, mediator.stream(RushOrder(order_id="o1"), saga_id))

    assert ids == ["Reserve", "Charge", "Ship"]
    assert (await storage.load_saga(saga_id)).context["deadline_hours"] == 24


async def test_the_nearest_bound_class_wins(journal) -> None:
    def sagas(mapper: SagaMap) -> None:
        mapper.bind(OrderContext, OrderSaga)
        mapper.bind(RushOrder, RushSaga)

    mediator = bootstrap.bootstrap(di_container=di_container(journal), sagas_mapper=sagas)

    assert await consume(journal, mediator.stream(RushOrder(order_id="o1"))) == ["Reserve", "Ship"]
    assert mediator.saga_map.saga_for(OrderContext(order_id="o2")) is OrderSaga


def test_bind_rejects_a_saga_for_another_context() -> None:
    sagas = SagaMap()

    with pytest.raises(HandlerBindingTypeError) as raised:
        sagas.bind(InvoiceContext, OrderSaga)  # type: ignore[arg-type]  # the mistake under test

    message = str(raised.value)
    for part in ("OrderSaga", "OrderContext", "InvoiceContext"):
        assert part in message
    assert sagas == {}


def test_bind_accepts_a_base_context_saga_for_a_subclass() -> None:
    sagas = SagaMap()

    sagas.bind(RushOrder, OrderSaga)

    assert sagas == {RushOrder: OrderSaga}


def test_bind_rejects_a_second_saga_for_a_context() -> None:
    sagas = SagaMap()
    sagas.bind(OrderContext, OrderSaga)

    with pytest.raises(HandlerAlreadyBoundError, match="OrderContext already runs OrderSaga"):
        sagas.bind(OrderContext, OrderSaga)


@pytest.mark.parametrize(
    ("context", "saga", "match"),
    [
        (OrderContext, Reserve, "is not a Saga subclass"),
        (OrderContext, OrderSaga(), "is not a Saga subclass"),
        (dict, OrderSaga, "is not a SagaContext subclass"),
        (OrderContext(order_id="o1"), OrderSaga, "is not a SagaContext subclass"),
    ],
)
def test_bind_rejects_what_is_not_a_context_or_a_saga(context, saga, match) -> None:
    with pytest.raises(HandlerBindingTypeError, match=match):
        SagaMap().bind(context, saga)


def test_a_saga_map_cannot_be_deleted_from() -> None:
    sagas = SagaMap()
    sagas.bind(OrderContext, OrderSaga)

    with pytest.raises(TypeError, match="no delete"):
        del sagas[OrderContext]

    assert sagas == {OrderContext: OrderSaga}


# --- the mediator's own storage, and a hand-written container ----------------------------


async def test_without_storage_the_mediator_keeps_its_own(journal) -> None:
    first = bootstrap.bootstrap(di_container=di_container(journal), sagas_mapper=order_sagas)
    second = bootstrap.bootstrap(di_container=di_container(journal), sagas_mapper=order_sagas)
    saga_id = uuid.uuid4()

    await consume(journal, first.stream(OrderContext(order_id="o1"), saga_id))

    assert isinstance(first.storage, MemorySagaStorage)
    assert first.storage is not second.storage
    status, context, _ = await first.storage.load_saga_state(saga_id)
    assert (status, context["shipped"]) == (SagaStatus.COMPLETED, True)
    with pytest.raises(ValueError, match="not found"):
        await second.storage.load_saga_state(saga_id)


def test_the_mediator_needs_at_least_one_event_handler_slot(journal) -> None:
    with pytest.raises(InvalidConfigurationError, match="max_concurrent_event_handlers"):
        SagaMediator(
            SagaMap(), cqrs.DIContainer(di_container(journal)), max_concurrent_event_handlers=0
        )


class HandWrittenContainer:
    """Only `async resolve`, as python-cqrs code sometimes writes its container."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.resolved: list[type] = []

    async def resolve(self, type_: type[Any]) -> Any:
        self.resolved.append(type_)
        if issubclass(type_, SagaStepHandler):
            return type_(self._journal)
        return type_()


async def test_a_mediator_built_directly_with_a_hand_written_container(journal, storage) -> None:
    resolver = HandWrittenContainer(journal)
    sagas = SagaMap()
    sagas.bind(OrderContext, OrderSaga)
    mediator = cqrs.SagaMediator(
        saga_map=sagas,
        container=resolver,
        storage=storage,
        max_concurrent_event_handlers=2,
        concurrent_event_handle_enable=True,
        compensation_retry_count=2,
        compensation_retry_delay=0.001,
        compensation_retry_backoff=1.0,
    )
    journal.fail("act", "Ship", RuntimeError("no truck"))

    with pytest.raises(RuntimeError, match="no truck"):
        await consume(journal, mediator.stream(OrderContext(order_id="o1")))

    assert resolver.resolved[0] is OrderSaga  # the saga itself comes from the container
    assert resolver.resolved[1:4] == [Reserve, Charge, Ship]
    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]


# --- python-cqrs documentation style ---------------------------------------------------------


class InventoryService(abc.ABC):
    @abc.abstractmethod
    async def reserve(self, order_id: str, items: list[str]) -> str: ...

    @abc.abstractmethod
    async def release(self, reservation_id: str) -> None: ...


class PaymentService(abc.ABC):
    @abc.abstractmethod
    async def charge(self, order_id: str, amount: float) -> str: ...

    @abc.abstractmethod
    async def refund(self, payment_id: str) -> None: ...


class MockInventoryService(InventoryService):
    def __init__(self) -> None:
        self.reserved: dict[str, list[str]] = {}

    async def reserve(self, order_id: str, items: list[str]) -> str:
        reservation_id = f"reservation_{order_id}"
        self.reserved[reservation_id] = items
        return reservation_id

    async def release(self, reservation_id: str) -> None:
        self.reserved.pop(reservation_id, None)


class MockPaymentService(PaymentService):
    def __init__(self) -> None:
        self.charged: dict[str, float] = {}

    async def charge(self, order_id: str, amount: float) -> str:
        if amount > 1000:
            msg = f"Payment declined for order {order_id}"
            raise ValueError(msg)
        payment_id = f"payment_{order_id}"
        self.charged[payment_id] = amount
        return payment_id

    async def refund(self, payment_id: str) -> None:
        self.charged.pop(payment_id, None)


@dataclasses.dataclass
class DocOrderContext(SagaContext):
    order_id: str
    user_id: str
    items: list[str]
    total_amount: float
    inventory_reservation_id: str | None = None
    payment_id: str | None = None


class ReserveInventoryResponse(cqrs.Response):
    reservation_id: str
    items_reserved: list[str]


class ProcessPaymentResponse(cqrs.Response):
    payment_id: str
    amount_charged: float


class InventoryReservedEvent(cqrs.Event, frozen=True):
    order_id: str
    reservation_id: str


class ReserveInventoryStep(SagaStepHandler[DocOrderContext, ReserveInventoryResponse]):
    def __init__(self, inventory_service: InventoryService) -> None:
        self._inventory_service = inventory_service
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return self._events.copy()

    async def act(
        self, context: DocOrderContext
    ) -> SagaStepResult[DocOrderContext, ReserveInventoryResponse]:
        reservation_id = await self._inventory_service.reserve(context.order_id, context.items)
        context.inventory_reservation_id = reservation_id
        self._events.append(
            InventoryReservedEvent(order_id=context.order_id, reservation_id=reservation_id)
        )
        return self._generate_step_result(
            ReserveInventoryResponse(reservation_id=reservation_id, items_reserved=context.items)
        )

    async def compensate(self, context: DocOrderContext) -> None:
        if context.inventory_reservation_id:
            await self._inventory_service.release(context.inventory_reservation_id)


class ProcessPaymentStep(SagaStepHandler[DocOrderContext, ProcessPaymentResponse]):
    def __init__(self, payment_service: PaymentService) -> None:
        self._payment_service = payment_service

    async def act(
        self, context: DocOrderContext
    ) -> SagaStepResult[DocOrderContext, ProcessPaymentResponse]:
        payment_id = await self._payment_service.charge(context.order_id, context.total_amount)
        context.payment_id = payment_id
        return self._generate_step_result(
            ProcessPaymentResponse(payment_id=payment_id, amount_charged=context.total_amount)
        )

    async def compensate(self, context: DocOrderContext) -> None:
        if context.payment_id:
            await self._payment_service.refund(context.payment_id)


class DocOrderSaga(Saga[DocOrderContext]):
    steps = [ReserveInventoryStep, ProcessPaymentStep]


async def test_python_cqrs_documentation_style_saga() -> None:
    inventory_service = MockInventoryService()
    payment_service = MockPaymentService()
    container = di.Container()
    container.bind(
        di.bind_by_type(
            dependent.Dependent(lambda: inventory_service, scope="request"), InventoryService
        )
    )
    container.bind(
        di.bind_by_type(
            dependent.Dependent(lambda: payment_service, scope="request"), PaymentService
        )
    )
    handled: list[str] = []

    class InventoryReservedHandler(cqrs.EventHandler[InventoryReservedEvent]):
        async def handle(self, event: InventoryReservedEvent) -> None:
            handled.append(event.reservation_id)

    def saga_mapper(mapper: cqrs.SagaMap) -> None:
        mapper.bind(DocOrderContext, DocOrderSaga)

    def domain_events_mapper(mapper: cqrs.EventMap) -> None:
        mapper.bind(InventoryReservedEvent, InventoryReservedHandler)

    storage: ISagaStorage = MemorySagaStorage()
    mediator = bootstrap.bootstrap(
        di_container=container,
        sagas_mapper=saga_mapper,
        domain_events_mapper=domain_events_mapper,
        saga_storage=storage,
    )

    context = DocOrderContext(
        order_id="123", user_id="user_1", items=["item_1", "item_2"], total_amount=100.0
    )
    saga_id = uuid.uuid4()
    names = [
        step_result.step_type.__name__
        async for step_result in mediator.stream(context, saga_id=saga_id)
    ]

    assert names == ["ReserveInventoryStep", "ProcessPaymentStep"]
    assert handled == ["reservation_123"]
    assert inventory_service.reserved == {"reservation_123": ["item_1", "item_2"]}
    assert payment_service.charged == {"payment_123": 100.0}
    status, stored, _ = await storage.load_saga_state(saga_id)
    assert status.value == "completed"
    assert str(status) == "completed"
    assert stored["payment_id"] == "payment_123"

    failing = DocOrderContext(
        order_id="456", user_id="user_2", items=["item_3"], total_amount=5000.0
    )
    failing_id = uuid.uuid4()
    try:
        async for step_result in mediator.stream(failing, saga_id=failing_id):
            assert step_result.step_type is ReserveInventoryStep
    except ValueError as error:
        assert "Payment declined" in str(error)  # noqa: PT017 - the documented pattern
    else:
        pytest.fail("the payment should have been declined")

    assert "reservation_456" not in inventory_service.reserved  # released by compensation
    history = await storage.get_step_history(failing_id)
    rendered = [
        f"{entry.timestamp.strftime('%H:%M:%S')} {entry.step_name} {entry.action} "
        f"{entry.status.value}"
        for entry in history
    ]
    assert [line.split(" ", 1)[1] for line in rendered] == [
        "ReserveInventoryStep act started",
        "ReserveInventoryStep act completed",
        "ProcessPaymentStep act started",
        "ProcessPaymentStep act failed",
        "ReserveInventoryStep compensate started",
        "ReserveInventoryStep compensate completed",
    ]
    status, _, _ = await storage.load_saga_state(failing_id)
    assert status.value == "failed"
