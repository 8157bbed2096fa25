"""Finishing interrupted sagas: `recover_saga`, `SagaContext` round trips, `SagaRecoveryWorker`.

An interruption is simulated as python-cqrs's docs do: by breaking out of a
transaction (the saga stays RUNNING, its lease released), or by writing the rows a
crashed runner leaves (`create_saga`, `update_status`, `log_step`), with an expired
lease where a crashed runner would have held one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import logging
import uuid
from typing import Any

import pydantic
import pytest
from tests.saga.sagas import (
    GUARD,
    InventoryReserved,
    Journal,
    OrderContext,
    OrderSaga,
    Reserve,
    Reserved,
    container,
    di_container,
    drain,
    lines,
    status_of,
    watch_log,
)

import cqrs
from cqrs.saga import bootstrap
from cqrs.saga.errors import SagaConcurrencyError
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import RecoveryReport, SagaRecoveryWorker, recover_saga
from cqrs.saga.saga import Saga
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.memory import MemorySagaStorage

FAST: dict[str, Any] = {"compensation_retry_delay": 0.001, "compensation_retry_backoff": 1.0}


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def storage() -> MemorySagaStorage:
    return MemorySagaStorage()


@pytest.fixture
def resolver(journal: Journal) -> cqrs.DIContainer:
    return container(journal)


async def interrupt_after(
    steps: int,
    storage: MemorySagaStorage,
    resolver: cqrs.DIContainer,
    journal: Journal,
    order_id: str = "o1",
) -> uuid.UUID:
    """Run OrderSaga for `steps` steps, then stop (`break`): RUNNING, lease released."""
    saga_id = uuid.uuid4()
    transaction = OrderSaga().transaction(
        OrderContext(order_id=order_id), resolver, storage, saga_id
    )
    async with transaction:
        done = 0
        async for _ in transaction:
            done += 1
            if done == steps:
                break
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, None)
    journal.calls.clear()
    journal.runs.clear()
    return saga_id


async def crashed_while_acting(
    storage: MemorySagaStorage,
    step: str = "Reserve",
    *,
    lease_owner: str | None = None,
    lease_seconds: float = 0.0,
    context: dict[str, Any] | None = None,
    name: str = "OrderSaga",
) -> uuid.UUID:
    """The rows a runner leaves when it dies inside `step`'s act (python-cqrs docs' way)."""
    saga_id = uuid.uuid4()
    stored = context if context is not None else OrderContext(order_id="o1").to_dict()
    await storage.create_saga(saga_id=saga_id, name=name, context=stored)
    await storage.update_status(saga_id, SagaStatus.RUNNING)
    await storage.log_step(saga_id, step, "act", SagaStepStatus.STARTED)
    if lease_owner is not None:
        assert await storage.acquire_lease(saga_id, lease_owner, lease_seconds)
    return saga_id


# --- recover_saga ----------------------------------------------------------------------


def builders() -> list[Any]:
    return [
        pytest.param(OrderContext, id="class"),
        pytest.param(OrderContext.from_dict, id="from_dict"),
        pytest.param(lambda data: OrderContext(**data), id="lambda"),
    ]


@pytest.mark.parametrize("builder", builders())
@pytest.mark.parametrize("keywords", [False, True], ids=["positional", "keywords"])
async def test_recover_saga_finishes_an_interrupted_saga_from_the_stored_context(
    journal, storage, resolver, builder, keywords
) -> None:
    saga_id = await interrupt_after(1, storage, resolver, journal)

    if keywords:
        await recover_saga(
            saga=OrderSaga(),
            saga_id=saga_id,
            context_builder=builder,
            container=resolver,
            storage=storage,
        )
    else:
        await recover_saga(OrderSaga(), saga_id, builder, resolver, storage)

    assert journal.calls == ["act Charge", "act Ship"]
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.COMPLETED
    assert state.lease_owner is None
    # Built from the stored context: Reserve's changes are there.
    assert state.context["trail"] == ["reserved", "charged", "shipped"]
    assert state.context["reserved"] is True


async def test_a_step_interrupted_mid_act_runs_again_as_a_new_attempt(
    journal, storage, resolver
) -> None:
    saga_id = await crashed_while_acting(storage, "Reserve")

    await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]
    first = journal.runs[0]
    assert (first.step_id, first.attempt) == ("Reserve", 2)
    assert first.idempotency_key == f"{saga_id}:Reserve:2"
    assert [run.attempt for run in journal.runs[1:]] == [1, 1]
    history = await storage.get_step_history(saga_id)
    assert [e.details for e in history if e.status is SagaStepStatus.STARTED] == [
        None,  # the row the crashed runner wrote
        "attempt 2",
        "attempt 1",
        "attempt 1",
    ]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_python_cqrs_rows_of_a_completed_step_are_skipped(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1", reserved=True, trail=["reserved"])
    await storage.create_saga(saga_id=saga_id, name="OrderSaga", context=context.to_dict())
    await storage.update_status(saga_id, SagaStatus.RUNNING)
    await storage.log_step(saga_id, "Reserve", "act", SagaStepStatus.STARTED)
    await storage.log_step(saga_id, "Reserve", "act", SagaStepStatus.COMPLETED)
    await storage.log_step(saga_id, "Charge", "act", SagaStepStatus.STARTED)
    journal.fail("act", "Charge", ValueError("card declined"))

    with pytest.raises(ValueError, match="card declined"):
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage, **FAST)

    assert journal.calls == ["act Charge", "compensate Reserve"]
    assert journal.runs[0].attempt == 2
    # python-cqrs stored no result: the compensation gets None for the response.
    assert journal.compensated_with == {"Reserve": None}
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert state.recovery_attempts == 1  # a failed recovery is counted


async def test_a_recovered_compensation_gets_the_stored_response(
    journal, storage, resolver
) -> None:
    saga_id = await interrupt_after(2, storage, resolver, journal)
    journal.fail("act", "Ship", RuntimeError("no truck"))

    with pytest.raises(RuntimeError, match="no truck"):
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage, **FAST)

    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    assert journal.compensated_with["Reserve"] == Reserved(reservation_id="r-o1")
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


async def test_a_saga_created_but_never_started_runs_from_the_start(
    journal, storage, resolver
) -> None:
    saga_id = uuid.uuid4()
    await storage.create_saga(saga_id, "OrderSaga", OrderContext(order_id="o1").to_dict())

    await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_recovering_a_completed_saga_does_nothing(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    await drain(OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id))
    before = await storage.load_saga(saga_id)
    journal.calls.clear()

    await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert journal.calls == []
    assert await storage.load_saga(saga_id) == before


async def test_recovering_an_unknown_saga_raises_value_error(storage, resolver) -> None:
    with pytest.raises(ValueError, match="not found"):
        await recover_saga(OrderSaga(), uuid.uuid4(), OrderContext, resolver, storage)


async def test_recovering_a_compensating_saga_finishes_compensation(
    journal, storage, resolver
) -> None:
    saga_id = await interrupt_after(2, storage, resolver, journal)
    await storage.update_status(saga_id, SagaStatus.COMPENSATING)  # died while compensating

    try:
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage, **FAST)
    except RuntimeError as error:  # python-cqrs's documented check
        message = str(error)
    else:
        pytest.fail("recovering a compensating saga raises")

    assert "recovered in" in message
    assert "state" in message
    assert journal.calls == ["compensate Charge", "compensate Reserve"]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.recovery_attempts) == (SagaStatus.FAILED, 0)
    assert (state.context["reserved"], state.context["charged"]) == (False, False)


async def test_recover_saga_does_not_take_a_saga_whose_lease_is_held(
    journal, storage, resolver
) -> None:
    saga_id = await crashed_while_acting(storage, lease_owner="alive", lease_seconds=60)

    with pytest.raises(SagaConcurrencyError):
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert journal.calls == []
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner, state.recovery_attempts) == (
        SagaStatus.RUNNING,
        "alive",
        0,
    )


async def test_a_context_that_cannot_be_rebuilt_fails_the_recovery(
    journal, storage, resolver
) -> None:
    saga_id = await crashed_while_acting(storage, context={"unexpected": 1})

    with pytest.raises(pydantic.ValidationError):
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert journal.calls == []
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, None)


async def test_a_context_that_cannot_be_rebuilt_counts_a_recovery_attempt(
    journal, storage, resolver
) -> None:
    saga_id = await crashed_while_acting(storage, context={"unexpected": 1})

    with pytest.raises(pydantic.ValidationError):
        await recover_saga(OrderSaga(), saga_id, OrderContext, resolver, storage)

    assert (await storage.load_saga(saga_id)).recovery_attempts == 1


# --- SagaContext round trips -----------------------------------------------------------------


@dataclasses.dataclass
class Address:
    street_name: str
    house_number: int


@dataclasses.dataclass
class ShipmentContext(SagaContext):
    shipment_id: uuid.UUID
    created_at: datetime.datetime
    address: Address
    tracking_code: str | None = None
    parcel_ids: list[uuid.UUID] = dataclasses.field(default_factory=list)


SHIPMENT_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
CREATED_AT = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)


def test_to_dict_is_json_safe_and_snake_case() -> None:
    context = ShipmentContext(
        shipment_id=SHIPMENT_ID,
        created_at=CREATED_AT,
        address=Address(street_name="Main", house_number=1),
        parcel_ids=[SHIPMENT_ID],
    )

    data = context.to_dict()

    assert data == {
        "shipment_id": "12345678-1234-5678-1234-567812345678",
        "created_at": "2024-05-01T12:30:00Z",
        "address": {"street_name": "Main", "house_number": 1},
        "tracking_code": None,
        "parcel_ids": ["12345678-1234-5678-1234-567812345678"],
    }
    assert json.loads(json.dumps(data)) == data
    assert context.model_dump() == data
    assert ShipmentContext.from_dict(data) == context


def test_from_dict_accepts_python_cqrs_camel_case_keys() -> None:
    context = OrderContext.from_dict({"orderId": "o1", "reserved": True, "trail": ["reserved"]})

    assert context == OrderContext(order_id="o1", reserved=True, trail=["reserved"])


def test_from_dict_accepts_python_cqrs_camel_case_keys_of_nested_dataclasses() -> None:
    stored = {
        "shipmentId": str(SHIPMENT_ID),
        "createdAt": "2024-05-01T12:30:00Z",
        "address": {"streetName": "Main", "houseNumber": 1},
        "trackingCode": "T1",
    }

    context = ShipmentContext.from_dict(stored)

    assert context.address == Address(street_name="Main", house_number=1)


def test_from_dict_rejects_a_missing_field() -> None:
    with pytest.raises(pydantic.ValidationError, match="order_id"):
        OrderContext.from_dict({"reserved": True})


# --- SagaRecoveryWorker ---------------------------------------------------------------------


def worker_for(
    storage: MemorySagaStorage,
    resolver: cqrs.DIContainer,
    **kwargs: Any,
) -> SagaRecoveryWorker:
    return SagaRecoveryWorker(storage, resolver, [OrderSaga], lease_seconds=30, **FAST, **kwargs)


async def test_run_once_recovers_a_saga_stopped_with_break(journal, storage, resolver) -> None:
    saga_id = await interrupt_after(1, storage, resolver, journal)
    worker = worker_for(storage, resolver, max_recovery_attempts=3)

    report = await worker.run_once()

    assert report == RecoveryReport(completed=[saga_id])
    assert report.total == 1
    assert journal.calls == ["act Charge", "act Ship"]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner, state.recovery_attempts) == (
        SagaStatus.COMPLETED,
        None,
        1,
    )
    assert await worker.run_once() == RecoveryReport()  # nothing left


async def test_run_once_recovers_a_saga_whose_runners_lease_expired(
    journal, storage, resolver
) -> None:
    saga_id = await crashed_while_acting(
        storage, "Reserve", lease_owner="crashed-runner", lease_seconds=0.0
    )

    report = await worker_for(storage, resolver).run_once()

    assert report.completed == [saga_id]
    assert journal.runs[0].idempotency_key == f"{saga_id}:Reserve:2"
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_run_once_leaves_a_saga_with_a_live_lease_alone(journal, storage, resolver) -> None:
    saga_id = await crashed_while_acting(storage, lease_owner="alive", lease_seconds=60)

    report = await worker_for(storage, resolver).run_once()

    assert report.total == 0
    assert journal.calls == []
    state = await storage.load_saga(saga_id)
    assert (state.lease_owner, state.recovery_attempts) == ("alive", 0)


async def test_run_once_leaves_a_running_transaction_alone(journal, storage, resolver) -> None:
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    running = asyncio.create_task(
        drain(OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id))
    )
    await asyncio.wait_for(entered.wait(), GUARD)

    report = await worker_for(storage, resolver).run_once()

    assert report.total == 0
    gate.set()
    assert len(await asyncio.wait_for(running, GUARD)) == 3
    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]


async def test_run_once_reports_compensated_and_failed_sagas(journal, storage, resolver) -> None:
    compensating = await interrupt_after(2, storage, resolver, journal, order_id="c")
    await storage.update_status(compensating, SagaStatus.COMPENSATING)
    failing = await crashed_while_acting(
        storage, "Reserve", context=OrderContext(order_id="f").to_dict()
    )
    journal.fail("act", "Charge", ValueError("card declined"))

    report = await worker_for(storage, resolver).run_once()

    assert report.compensated == [compensating]
    assert report.failed == [failing]
    assert (report.completed, report.exhausted) == ([], [])
    assert await status_of(storage, compensating) is SagaStatus.FAILED
    assert await status_of(storage, failing) is SagaStatus.FAILED  # compensated after failing
    for saga_id in (compensating, failing):
        assert (await storage.load_saga(saga_id)).lease_owner is None
    assert sorted(journal.compensations()) == [
        "compensate Charge",
        "compensate Reserve",
        "compensate Reserve",
    ]


async def test_a_compensation_that_fails_again_is_not_reported_compensated(
    journal, storage, resolver
) -> None:
    saga_id = await interrupt_after(2, storage, resolver, journal)
    await storage.update_status(saga_id, SagaStatus.COMPENSATING)
    journal.fail("compensate", "Charge", ConnectionError("refunds down"))

    report = await worker_for(storage, resolver, compensation_retry_count=1).run_once()

    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    assert report.compensated == []
    assert report.failed == [saga_id]


async def test_a_saga_that_keeps_failing_recovery_is_exhausted(
    journal, storage, resolver, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs.saga")
    saga_id = await crashed_while_acting(storage, context={"not": "an order"})
    exhausted: list[uuid.UUID] = []

    async def on_exhausted(found: uuid.UUID) -> None:
        exhausted.append(found)

    worker = worker_for(storage, resolver, max_recovery_attempts=2, on_exhausted=on_exhausted)

    assert await worker.run_once() == RecoveryReport(failed=[saga_id])
    assert await worker.run_once() == RecoveryReport(failed=[saga_id])
    assert (await storage.load_saga(saga_id)).recovery_attempts == 2
    assert exhausted == []

    assert await worker.run_once() == RecoveryReport(exhausted=[saga_id])

    assert exhausted == [saga_id]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.FAILED, None)
    assert any("not recovered in 2 attempts" in r.getMessage() for r in caplog.records)
    assert await worker.run_once() == RecoveryReport()
    assert journal.calls == []


async def test_a_synchronous_on_exhausted_and_a_failing_one(
    journal, storage, resolver, caplog
) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs.saga")
    saga_id = await crashed_while_acting(storage, context={"not": "an order"})
    await storage.set_recovery_attempts(saga_id, 5)
    seen: list[uuid.UUID] = []

    def on_exhausted(found: uuid.UUID) -> None:
        seen.append(found)
        msg = "pager down"
        raise RuntimeError(msg)

    report = await worker_for(storage, resolver, on_exhausted=on_exhausted).run_once()

    assert report.exhausted == [saga_id]
    assert seen == [saga_id]
    assert any("on_exhausted failed" in r.getMessage() for r in caplog.records)


async def test_the_worker_recovers_only_the_sagas_it_knows(journal, storage, resolver) -> None:
    other = await crashed_while_acting(storage, name="SomeoneElsesSaga")
    ours = await crashed_while_acting(storage)

    report = await worker_for(storage, resolver).run_once()

    assert report.completed == [ours]
    assert (await storage.load_saga(other)).status is SagaStatus.RUNNING


async def test_a_named_saga_is_matched_by_its_saga_name(journal, storage, resolver) -> None:
    class RenamedSaga(Saga[OrderContext]):
        steps = [Reserve]
        saga_name = "orders.reserve"

    saga_id = await crashed_while_acting(storage, name="orders.reserve")

    report = await SagaRecoveryWorker(storage, resolver, [RenamedSaga]).run_once()

    assert report.completed == [saga_id]
    assert journal.acts() == ["act Reserve"]


async def test_batches_and_stale_after(journal, storage, resolver) -> None:
    ids = [await crashed_while_acting(storage) for _ in range(3)]

    fresh_only = worker_for(storage, resolver, stale_after_seconds=3600)
    assert await fresh_only.run_once() == RecoveryReport()  # all updated just now

    worker = worker_for(storage, resolver, batch_size=2, concurrency=2)
    first = await worker.run_once()
    second = await worker.run_once()

    assert len(first.completed) == 2
    assert len(second.completed) == 1
    assert sorted(first.completed + second.completed) == sorted(ids)


async def test_two_workers_never_recover_the_same_saga(journal, storage, resolver) -> None:
    ids = [await interrupt_after(1, storage, resolver, journal, order_id=f"o{n}") for n in range(6)]
    first = worker_for(storage, resolver, batch_size=2)
    second = worker_for(storage, resolver, batch_size=2)

    reports: list[RecoveryReport] = []
    for _ in range(3):
        reports.extend(await asyncio.gather(first.run_once(), second.run_once()))

    completed = [saga_id for report in reports for saga_id in report.completed]
    assert sorted(completed) == sorted(ids)  # each once
    assert journal.acts().count("act Charge") == 6
    assert journal.acts().count("act Ship") == 6
    for saga_id in ids:
        assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_recovered_steps_events_go_through_the_mediators_pipeline(
    journal, storage, resolver
) -> None:
    handled: list[str] = []

    class OnReserved(cqrs.EventHandler[InventoryReserved]):
        async def handle(self, event: InventoryReserved) -> None:
            handled.append(event.order_id)

    mediator = bootstrap.bootstrap(
        di_container=di_container(journal),
        sagas_mapper=lambda m: m.bind(OrderContext, OrderSaga),
        domain_events_mapper=lambda m: m.bind(InventoryReserved, OnReserved),
        saga_storage=storage,
    )
    by_worker = await crashed_while_acting(storage, context=OrderContext(order_id="w").to_dict())
    by_hand = await crashed_while_acting(storage, context=OrderContext(order_id="h").to_dict())

    report = await worker_for(
        storage, resolver, emit_events=mediator.emit_events, batch_size=1
    ).run_once()
    assert report.completed == [by_worker]
    await recover_saga(
        OrderSaga(),
        by_hand,
        OrderContext,
        resolver,
        storage,
        emit_events=mediator.emit_events,
    )

    assert handled == ["w", "h"]


async def test_run_stops_when_the_event_is_set(journal, storage, resolver) -> None:
    saga_id = await interrupt_after(1, storage, resolver, journal)
    shipping = journal.reached("Ship")
    stop = asyncio.Event()
    worker = worker_for(storage, resolver, poll_interval=60)

    running = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(shipping.wait(), GUARD)
    stop.set()
    await asyncio.wait_for(running, GUARD)

    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_run_starts_the_next_pass_at_once_after_a_full_batch(
    journal, storage, resolver
) -> None:
    ids = [await interrupt_after(1, storage, resolver, journal, order_id=f"o{n}") for n in range(2)]
    stop = asyncio.Event()
    worker = worker_for(storage, resolver, batch_size=1, poll_interval=60)

    with watch_log("recovered step Ship", count=2) as both_shipped:
        running = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(both_shipped.wait(), GUARD)  # not after a 60 s poll interval
    stop.set()
    await asyncio.wait_for(running, GUARD)

    for saga_id in ids:
        assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


class FlakyClaims(MemorySagaStorage):
    """Its first `claim_for_recovery` fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def claim_for_recovery(self, owner: str, **kwargs: Any) -> list[uuid.UUID]:
        if self.failures:
            self.failures -= 1
            msg = "database unavailable"
            raise OSError(msg)
        return await super().claim_for_recovery(owner, **kwargs)


async def test_run_logs_a_failed_pass_and_tries_again(journal, resolver, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="cqrs.saga")
    storage = FlakyClaims()
    saga_id = await interrupt_after(1, storage, resolver, journal)
    shipping = journal.reached("Ship")
    stop = asyncio.Event()
    worker = worker_for(storage, resolver, poll_interval=0.001)

    running = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(shipping.wait(), GUARD)
    stop.set()
    await asyncio.wait_for(running, GUARD)

    assert any("saga recovery pass failed" in r.getMessage() for r in caplog.records)
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_run_with_the_event_already_set_does_nothing(journal, storage, resolver) -> None:
    await interrupt_after(1, storage, resolver, journal)
    stop = asyncio.Event()
    stop.set()

    await asyncio.wait_for(worker_for(storage, resolver).run(stop), GUARD)

    assert journal.calls == []


def test_the_worker_checks_its_sagas_and_settings(storage, resolver) -> None:
    class Untyped(Saga):  # type: ignore[type-arg]  # the mistake under test
        steps = [Reserve]

    class Twin(Saga[OrderContext]):
        steps = [Reserve]
        saga_name = "OrderSaga"

    with pytest.raises(TypeError, match="must declare its context"):
        SagaRecoveryWorker(storage, resolver, [Untyped])
    with pytest.raises(ValueError, match="two sagas are named 'OrderSaga'"):
        SagaRecoveryWorker(storage, resolver, [OrderSaga, Twin])
    with pytest.raises(ValueError, match="at least 1"):
        SagaRecoveryWorker(storage, resolver, [OrderSaga], batch_size=0)


async def test_the_recovery_history_of_a_recovered_saga(journal, storage, resolver) -> None:
    saga_id = await interrupt_after(1, storage, resolver, journal)

    await worker_for(storage, resolver).run_once()

    # Each step's start is recorded with the previous step's completion, so the
    # interrupted run left Charge started (attempt 1) though it never ran; the
    # recovery ran it as attempt 2.
    history = await storage.get_step_history(saga_id)
    assert lines(history) == [
        "Reserve act started",
        "Reserve act completed",
        "Charge act started",
        "Charge act started",
        "Charge act completed",
        "Ship act started",
        "Ship act completed",
    ]
    assert [entry.details for entry in history if entry.status.value == "started"] == [
        "attempt 1",
        "attempt 1",
        "attempt 2",
        "attempt 1",
    ]
