"""The saga engine (`SagaTransaction`), run directly and through `SagaMediator`.

Checkpoints and history, compensation (order, retries, failures), act retries and
timeouts, `current_step()`, early stops and resuming, leases, stable step ids,
fallbacks and circuit breakers, and the checks made when a saga class is created.
All on `MemorySagaStorage`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tests.saga.sagas import (
    GUARD,
    Charge,
    Charged,
    Journal,
    OrderContext,
    OrderSaga,
    Reserve,
    Reserved,
    Ship,
    container,
    drain,
    lines,
    status_of,
    watch_log,
)

import cqrs
from cqrs.saga import transaction as transaction_module
from cqrs.saga.errors import (
    SagaConcurrencyError,
    SagaRecoveredError,
    SagaStepTypeError,
    SagaStorageError,
    SagaTimeoutError,
)
from cqrs.saga.fallback import Fallback
from cqrs.saga.map import SagaMap
from cqrs.saga.mediator import SagaMediator
from cqrs.saga.models import SagaContext
from cqrs.saga.retry import Retry
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult, current_step
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.transaction import DEFAULT_LEASE_SECONDS

FAST = {"compensation_retry_delay": 0.001, "compensation_retry_backoff": 1.0}


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def storage() -> MemorySagaStorage:
    return MemorySagaStorage()


@pytest.fixture
def resolver(journal: Journal) -> cqrs.DIContainer:
    return container(journal)


def mediator_for(
    saga: type[Saga[Any]],
    resolver: cqrs.DIContainer,
    storage: MemorySagaStorage,
    context_type: type[SagaContext] = OrderContext,
) -> SagaMediator:
    sagas = SagaMap()
    sagas.bind(context_type, saga)
    return SagaMediator(sagas, resolver, storage=storage, compensation_retry_delay=0.001)


async def collect(transaction: Any, into: list[SagaStepResult[Any, Any]]) -> None:
    """Like `drain`, keeping what was yielded before an error."""
    async with transaction:
        async for result in transaction:
            into.append(result)  # noqa: PERF401 - a comprehension would lose them on error


async def stream_into(stream: AsyncIterator[Any], into: list[Any]) -> None:
    """Append each result of a mediator's stream as it arrives."""
    async for result in stream:
        into.append(result)  # noqa: PERF401 - a comprehension would lose them on error


# --- success ------------------------------------------------------------------------


async def test_a_saga_yields_each_step_result_in_order(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    transaction = OrderSaga().transaction(context, resolver, storage, saga_id)

    results = await drain(transaction)

    assert [(r.step_type, r.step_id, r.saga_id) for r in results] == [
        (Reserve, "Reserve", saga_id),
        (Charge, "Charge", saga_id),
        (Ship, "Ship", saga_id),
    ]
    assert results[0].response == Reserved(reservation_id="r-o1")
    assert results[1].response == Charged(payment_id="p-o1", amount=10)
    assert results[2].response is None  # a step may respond with None
    assert not any(r.with_error for r in results)
    assert journal.calls == ["act Reserve", "act Charge", "act Ship"]
    assert transaction.saga_id == saga_id
    assert transaction.context is context
    assert transaction.completed_steps == ["Reserve", "Charge", "Ship"]


async def test_a_completed_saga_is_stored_with_its_context_and_history(storage, resolver) -> None:
    saga_id = uuid.uuid4()
    await drain(OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id))

    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.COMPLETED
    assert state.name == "OrderSaga"
    assert state.context == {
        "order_id": "o1",
        "reserved": True,
        "charged": True,
        "shipped": True,
        "trail": ["reserved", "charged", "shipped"],
    }
    assert state.lease_owner is None
    history = await storage.get_step_history(saga_id)
    assert lines(history) == [
        "Reserve act started",
        "Reserve act completed",
        "Charge act started",
        "Charge act completed",
        "Ship act started",
        "Ship act completed",
    ]
    started = [entry for entry in history if entry.status is SagaStepStatus.STARTED]
    assert [entry.details for entry in started] == ["attempt 1"] * 3
    completed = [entry for entry in history if entry.status is SagaStepStatus.COMPLETED]
    assert [entry.result for entry in completed] == [
        {"reservation_id": "r-o1"},
        {"payment_id": "p-o1", "amount": 10},
        None,
    ]
    assert all(entry.saga_id == saga_id for entry in history)


async def test_a_transaction_without_a_saga_id_makes_one(storage, resolver) -> None:
    transaction = OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage)

    results = await drain(transaction)

    assert isinstance(transaction.saga_id, uuid.UUID)
    assert {r.saga_id for r in results} == {transaction.saga_id}
    assert await status_of(storage, transaction.saga_id) is SagaStatus.COMPLETED


async def test_the_mediator_streams_the_same_results(journal, storage, resolver) -> None:
    mediator = mediator_for(OrderSaga, resolver, storage)
    saga_id = uuid.uuid4()

    results = [r async for r in mediator.stream(OrderContext(order_id="o1"), saga_id=saga_id)]

    assert [(r.step_type, r.step_id, r.saga_id) for r in results] == [
        (Reserve, "Reserve", saga_id),
        (Charge, "Charge", saga_id),
        (Ship, "Ship", saga_id),
    ]
    assert journal.calls == ["act Reserve", "act Charge", "act Ship"]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


def test_compensation_retry_count_must_be_positive(storage, resolver) -> None:
    with pytest.raises(ValueError, match="compensation_retry_count"):
        OrderSaga().transaction(
            OrderContext(order_id="o1"), resolver, storage, compensation_retry_count=0
        )


# --- failure and compensation ---------------------------------------------------------


async def test_a_failing_step_compensates_the_completed_ones_in_reverse(
    journal, storage, resolver
) -> None:
    error = RuntimeError("no truck")
    journal.fail("act", "Ship", error)
    saga_id = uuid.uuid4()
    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(RuntimeError) as raised:
        await collect(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id),
            yielded,
        )

    assert raised.value is error  # the step's own error, not a wrapper
    assert [r.step_id for r in yielded] == ["Reserve", "Charge"]
    # The failing step is not compensated: its act did not complete.
    assert journal.calls == [
        "act Reserve",
        "act Charge",
        "act Ship",
        "compensate Charge",
        "compensate Reserve",
    ]
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert state.lease_owner is None
    # What compensation did to the context is stored.
    assert state.context["reserved"] is False
    assert state.context["charged"] is False
    assert state.context["trail"] == ["reserved", "charged", "refunded", "unreserved"]
    history = await storage.get_step_history(saga_id)
    assert lines(history)[4:] == [
        "Ship act started",
        "Ship act failed",
        "Charge compensate started",
        "Charge compensate completed",
        "Reserve compensate started",
        "Reserve compensate completed",
    ]
    assert history[5].details == "RuntimeError: no truck"


async def test_a_failing_first_step_compensates_nothing(journal, storage, resolver) -> None:
    journal.fail("act", "Reserve", ValueError("out of stock"))
    saga_id = uuid.uuid4()

    with pytest.raises(ValueError, match="out of stock"):
        await drain(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
        )

    assert journal.calls == ["act Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED
    assert lines(await storage.get_step_history(saga_id)) == [
        "Reserve act started",
        "Reserve act failed",
    ]


async def test_the_mediator_raises_the_step_error_after_compensating(
    journal, storage, resolver
) -> None:
    error = ValueError("card declined")
    journal.fail("act", "Charge", error)
    mediator = mediator_for(OrderSaga, resolver, storage)
    saga_id = uuid.uuid4()
    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(ValueError) as raised:
        await stream_into(mediator.stream(OrderContext(order_id="o1"), saga_id=saga_id), yielded)

    assert raised.value is error
    assert [r.step_id for r in yielded] == ["Reserve"]
    assert journal.compensations() == ["compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the engine sleeps, apart from its lease heartbeat's."""
    real_sleep = asyncio.sleep
    heartbeat = DEFAULT_LEASE_SECONDS / 3
    delays: list[float] = []

    async def sleep(delay: float, result: Any = None) -> Any:
        if delay != heartbeat:
            delays.append(delay)
        return await real_sleep(delay, result)

    monkeypatch.setattr(transaction_module.asyncio, "sleep", sleep)
    return delays


async def test_a_compensation_is_retried_with_backoff(
    journal, storage, resolver, sleeps, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="cqrs.saga")
    journal.fail("act", "Ship", RuntimeError("no truck"))
    journal.fail("compensate", "Charge", ConnectionError("refunds down"), times=2)
    saga_id = uuid.uuid4()

    with pytest.raises(RuntimeError, match="no truck"):
        await drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"),
                resolver,
                storage,
                saga_id,
                compensation_retry_count=3,
                compensation_retry_delay=0.001,
                compensation_retry_backoff=3.0,
            )
        )

    assert journal.compensations() == [
        "compensate Charge",
        "compensate Charge",
        "compensate Charge",
        "compensate Reserve",
    ]
    assert sleeps == [pytest.approx(0.001), pytest.approx(0.003)]  # delay * backoff**n
    warnings = [r for r in caplog.records if r.name == "cqrs.saga" and r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("compensation of step Charge" in r.getMessage() for r in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    history = await storage.get_step_history(saga_id)
    assert "Charge compensate completed" in lines(history)
    assert "Charge compensate failed" not in lines(history)
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert state.context["charged"] is False


async def test_a_compensation_failing_every_time_is_reported_and_the_rest_go_on(
    journal, storage, resolver, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="cqrs.saga")
    error = RuntimeError("no truck")
    journal.fail("act", "Ship", error)
    journal.fail("compensate", "Charge", ConnectionError("refunds down"))
    saga_id = uuid.uuid4()

    with pytest.raises(RuntimeError) as raised:
        await drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"),
                resolver,
                storage,
                saga_id,
                compensation_retry_count=2,
                **FAST,
            )
        )

    assert raised.value is error
    assert journal.compensations() == [
        "compensate Charge",
        "compensate Charge",
        "compensate Reserve",  # the next step is compensated all the same
    ]
    history = await storage.get_step_history(saga_id)
    failed = [e for e in history if e.action == "compensate" and e.status is SagaStepStatus.FAILED]
    assert [(e.step_name, e.details) for e in failed] == [
        ("Charge", "ConnectionError: refunds down")
    ]
    assert "Reserve compensate completed" in lines(history)
    errors = [r for r in caplog.records if r.name == "cqrs.saga" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "compensation of step Charge failed 2 times" in errors[0].getMessage()
    if sys.version_info >= (3, 11):  # add_note is new in 3.11
        assert error.__notes__ == [
            "compensation of step Charge failed: ConnectionError('refunds down')"
        ]
    state = await storage.load_saga(saga_id)
    # Left COMPENSATING, so a recovery worker retries the failed compensation later.
    assert state.status is SagaStatus.COMPENSATING
    assert state.context["charged"] is True  # its compensation never ran to the end
    assert state.context["reserved"] is False


async def test_compensate_gets_the_acts_response_when_it_asks_for_it(
    journal, storage, resolver
) -> None:
    journal.fail("act", "Ship", RuntimeError("no truck"))
    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(RuntimeError):
        await collect(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, **FAST),
            yielded,
        )

    # Reserve.compensate(context, response=...) gets what its act returned...
    assert journal.compensated_with["Reserve"] is yielded[0].response
    # ...and Charge.compensate(context), python-cqrs style, still runs.
    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]


# --- act retries and current_step() ---------------------------------------------------


class FlakyCharge(Charge):
    retry = Retry(attempts=3, delay=0.001, on=(ConnectionError,))


class FlakySaga(Saga[OrderContext]):
    steps = [Reserve, FlakyCharge, Ship]


async def test_act_is_retried_on_the_listed_errors(journal, storage, resolver, sleeps) -> None:
    journal.fail("act", "Charge", ConnectionError("blip"), times=2)
    saga_id = uuid.uuid4()

    results = await drain(
        FlakySaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
    )

    assert [r.step_id for r in results] == ["Reserve", "FlakyCharge", "Ship"]
    assert journal.acts() == ["act Reserve"] + ["act Charge"] * 3 + ["act Ship"]
    history = [e for e in await storage.get_step_history(saga_id) if e.step_name == "FlakyCharge"]
    assert [(e.status.value, e.details) for e in history] == [
        ("started", "attempt 1"),
        ("failed", "ConnectionError: blip"),
        ("started", "attempt 2"),
        ("failed", "ConnectionError: blip"),
        ("started", "attempt 3"),
        ("completed", None),
    ]
    assert sleeps == [pytest.approx(0.001), pytest.approx(0.002)]
    # Each attempt has its own idempotency key.
    runs = [run for run in journal.runs if run.step_id == "FlakyCharge"]
    assert [run.attempt for run in runs] == [1, 2, 3]
    assert [run.idempotency_key for run in runs] == [
        f"{saga_id}:FlakyCharge:{attempt}" for attempt in (1, 2, 3)
    ]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_an_error_not_listed_in_retry_fails_the_step_at_once(
    journal, storage, resolver
) -> None:
    journal.fail("act", "Charge", ValueError("card declined"))
    saga_id = uuid.uuid4()

    with pytest.raises(ValueError, match="card declined"):
        await drain(
            FlakySaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST)
        )

    assert journal.calls == ["act Reserve", "act Charge", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


async def test_act_retries_used_up_fail_the_saga(journal, storage, resolver) -> None:
    error = ConnectionError("down")
    journal.fail("act", "Charge", error)
    saga_id = uuid.uuid4()

    with pytest.raises(ConnectionError) as raised:
        await drain(
            FlakySaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST)
        )

    assert raised.value is error
    assert journal.calls == ["act Reserve"] + ["act Charge"] * 3 + ["compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


def test_retry_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Retry(attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        Retry(backoff=0.5)
    assert Retry(delay=1.0, backoff=2.0, max_delay=3.0).wait(5) == 3.0


async def test_current_step_names_the_saga_step_and_attempt(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    journal.fail("act", "Ship", RuntimeError("no truck"))

    with pytest.raises(RuntimeError):
        await drain(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST)
        )

    acts = [(run.saga_id, run.step_id, run.attempt, run.action) for run in journal.runs[:3]]
    assert acts == [
        (saga_id, "Reserve", 1, "act"),
        (saga_id, "Charge", 1, "act"),
        (saga_id, "Ship", 1, "act"),
    ]
    assert journal.runs[0].idempotency_key == f"{saga_id}:Reserve:1"
    compensations = [(run.step_id, run.attempt, run.action) for run in journal.runs[3:]]
    assert compensations == [("Charge", 1, "compensate"), ("Reserve", 1, "compensate")]


def test_current_step_outside_a_step_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="only available inside"):
        current_step()


# --- timeouts ---------------------------------------------------------------------------


class SlowShip(Ship):
    timeout = 0.05


class SlowShipSaga(Saga[OrderContext]):
    steps = [Reserve, Charge, SlowShip]


async def test_a_step_past_its_timeout_fails_and_is_compensated(journal, storage, resolver) -> None:
    journal.pause("Ship")  # never released
    saga_id = uuid.uuid4()

    with pytest.raises(SagaTimeoutError, match=r"SlowShip\.act took longer than 0\.05s") as raised:
        await drain(
            SlowShipSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert isinstance(raised.value, TimeoutError)
    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    assert "SlowShip act failed" in lines(await storage.get_step_history(saga_id))
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


class TimedSaga(Saga[OrderContext]):
    steps = [Reserve, Charge, Ship]
    timeout = 0.05


async def test_a_saga_past_its_timeout_fails_and_is_compensated(journal, storage, resolver) -> None:
    journal.pause("Ship")
    saga_id = uuid.uuid4()

    with pytest.raises(SagaTimeoutError):
        await drain(
            TimedSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST)
        )

    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


async def test_the_saga_timeout_counts_the_callers_time_between_steps(
    journal, storage, resolver
) -> None:
    class QuickSaga(Saga[OrderContext]):
        steps = [Reserve, Charge]
        timeout = 0.02

    async def slow_caller() -> None:
        transaction = QuickSaga().transaction(
            OrderContext(order_id="o1"), resolver, storage, **FAST
        )
        async with transaction:
            async for _ in transaction:
                await asyncio.sleep(0.05)  # the caller is slow: time must pass

    with pytest.raises(SagaTimeoutError, match="ran past its timeout before Charge"):
        await slow_caller()

    assert journal.calls == ["act Reserve", "compensate Reserve"]


class SlowRetriedShip(Ship):
    timeout = 0.01
    retry = Retry(attempts=2, delay=0.001, on=(TimeoutError,))


class SlowRetriedSaga(Saga[OrderContext]):
    steps = [Reserve, SlowRetriedShip]


async def test_a_timed_out_attempt_is_retried_when_timeouts_are_listed(
    journal, storage, resolver
) -> None:
    journal.pause("Ship")
    saga_id = uuid.uuid4()

    with pytest.raises(SagaTimeoutError):
        await drain(
            SlowRetriedSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert journal.calls == ["act Reserve", "act Ship", "act Ship", "compensate Reserve"]
    history = [
        e for e in await storage.get_step_history(saga_id) if e.step_name == "SlowRetriedShip"
    ]
    assert [(e.status.value, (e.details or "").split(":")[0]) for e in history] == [
        ("started", "attempt 1"),
        ("failed", "SagaTimeoutError"),
        ("started", "attempt 2"),
        ("failed", "SagaTimeoutError"),
    ]


async def test_no_retry_once_the_saga_timeout_has_passed(journal, storage, resolver) -> None:
    class PatientShip(Ship):
        retry = Retry(attempts=5, delay=0.001, on=(TimeoutError,))

    class ShortSaga(Saga[OrderContext]):
        steps = [Reserve, PatientShip]
        timeout = 0.03

    journal.pause("Ship")

    with pytest.raises(SagaTimeoutError):
        await drain(ShortSaga().transaction(OrderContext(order_id="o1"), resolver, storage, **FAST))

    assert journal.acts() == ["act Reserve", "act Ship"]  # one attempt: the saga ran out
    assert journal.compensations() == ["compensate Reserve"]


# --- an act that does not return a SagaStepResult ------------------------------------------


class Sloppy(SagaStepHandler[OrderContext, None]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        return None  # type: ignore[return-value]  # the mistake under test

    async def compensate(self, context: OrderContext) -> None:
        raise AssertionError


class SloppySaga(Saga[OrderContext]):
    steps = [Reserve, Sloppy]


async def test_an_act_returning_something_else_is_a_type_error(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()

    with pytest.raises(TypeError, match=r"Sloppy\.act returned NoneType, not a SagaStepResult"):
        await drain(
            SloppySaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert journal.calls == ["act Reserve", "compensate Reserve"]
    assert lines(await storage.get_step_history(saga_id))[2:4] == [
        "Sloppy act started",
        "Sloppy act failed",
    ]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


# --- stopping early, and resuming -------------------------------------------------------


async def test_breaking_out_leaves_the_saga_running_and_releases_its_lease(
    journal, storage, resolver
) -> None:
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    transaction = OrderSaga().transaction(context, resolver, storage, saga_id)

    async with transaction:
        async for result in transaction:
            assert result.step_id == "Reserve"
            break

    assert journal.calls == ["act Reserve"]  # nothing compensated
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.RUNNING
    assert state.lease_owner is None

    results = await drain(OrderSaga().transaction(context, resolver, storage, saga_id))

    assert [r.step_id for r in results] == ["Charge", "Ship"]
    assert journal.calls == ["act Reserve", "act Charge", "act Ship"]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_aclose_on_the_mediator_stream_then_resume_through_it(
    journal, storage, resolver
) -> None:
    mediator = mediator_for(OrderSaga, resolver, storage)
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")

    stream = mediator.stream(context, saga_id=saga_id)
    first = await stream.__anext__()
    second = await stream.__anext__()
    await stream.aclose()

    assert (first.step_id, second.step_id) == ("Reserve", "Charge")
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.RUNNING
    assert state.lease_owner is None
    assert journal.compensations() == []

    rest = [r.step_id async for r in mediator.stream(context, saga_id=saga_id)]

    assert rest == ["Ship"]
    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_resuming_a_completed_saga_yields_nothing(journal, storage, resolver, caplog) -> None:
    caplog.set_level(logging.INFO, logger="cqrs.saga")
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    await drain(OrderSaga().transaction(context, resolver, storage, saga_id))
    version = (await storage.load_saga(saga_id)).version

    assert await drain(OrderSaga().transaction(context, resolver, storage, saga_id)) == []

    assert journal.acts() == ["act Reserve", "act Charge", "act Ship"]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.version) == (SagaStatus.COMPLETED, version)
    assert any("already completed" in r.getMessage() for r in caplog.records)


async def prepare_failed_saga(
    journal: Journal,
    storage: MemorySagaStorage,
    resolver: cqrs.DIContainer,
) -> uuid.UUID:
    """A saga whose Ship failed and whose Charge compensation failed every time."""
    journal.fail("act", "Ship", RuntimeError("no truck"))
    journal.fail("compensate", "Charge", ConnectionError("refunds down"))
    saga_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        await drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"),
                resolver,
                storage,
                saga_id,
                compensation_retry_count=1,
            )
        )
    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.COMPENSATING
    journal.fail("compensate", "Charge", ConnectionError("refunds down"), times=0)  # fixed now
    journal.calls.clear()
    return saga_id


@pytest.mark.parametrize("status", [SagaStatus.FAILED, SagaStatus.COMPENSATING])
async def test_resuming_a_failed_saga_finishes_its_compensation_once(
    journal, storage, resolver, status
) -> None:
    saga_id = await prepare_failed_saga(journal, storage, resolver)
    await storage.update_status(saga_id, status)
    context = OrderContext.from_dict((await storage.load_saga(saga_id)).context)

    with pytest.raises(SagaRecoveredError) as raised:
        await drain(OrderSaga().transaction(context, resolver, storage, saga_id, **FAST))

    # Only the step whose compensation had failed, once; never forward.
    assert journal.calls == ["compensate Charge"]
    assert isinstance(raised.value, RuntimeError)
    message = str(raised.value)
    assert "recovered in" in message
    assert "state" in message
    assert status.value in message
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.FAILED
    assert state.lease_owner is None
    assert state.context["charged"] is False
    assert lines(await storage.get_step_history(saga_id))[-2:] == [
        "Charge compensate started",
        "Charge compensate completed",
    ]


async def test_a_resumed_compensation_gets_the_response_rebuilt_from_the_log(
    journal, storage, resolver
) -> None:
    journal.fail("act", "Ship", RuntimeError("no truck"))
    journal.fail("compensate", "Reserve", ConnectionError("warehouse down"))
    saga_id = uuid.uuid4()
    with pytest.raises(RuntimeError):
        await drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"),
                resolver,
                storage,
                saga_id,
                compensation_retry_count=1,
            )
        )
    journal.fail("compensate", "Reserve", ConnectionError("warehouse down"), times=0)
    journal.calls.clear()
    journal.compensated_with.clear()

    with pytest.raises(SagaRecoveredError):
        await drain(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
        )

    assert journal.calls == ["compensate Reserve"]
    assert journal.compensated_with["Reserve"] == Reserved(reservation_id="r-o1")


async def test_a_stored_response_that_no_longer_fits_gives_compensation_none(
    journal, storage, resolver, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="cqrs.saga")
    saga_id = uuid.uuid4()
    await storage.create_saga(saga_id, "OrderSaga", OrderContext(order_id="o1").to_dict())
    await storage.log_step(
        saga_id, "Reserve", "act", SagaStepStatus.COMPLETED, result={"renamed_field": "r-1"}
    )
    await storage.update_status(saga_id, SagaStatus.COMPENSATING)

    with pytest.raises(SagaRecoveredError):
        await drain(
            OrderSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
        )

    assert journal.compensated_with == {"Reserve": None}
    assert any(
        "could not rebuild Reserve's stored response" in r.getMessage() for r in caplog.records
    )


async def test_resuming_a_failed_saga_through_the_mediator(journal, storage, resolver) -> None:
    saga_id = await prepare_failed_saga(journal, storage, resolver)
    mediator = mediator_for(OrderSaga, resolver, storage)

    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(RuntimeError, match="recovered in compensating state"):
        await stream_into(mediator.stream(OrderContext(order_id="o1"), saga_id=saga_id), yielded)

    assert yielded == []  # a failed saga never runs forward
    assert journal.calls == ["compensate Charge"]


# --- leases -----------------------------------------------------------------------------


async def test_a_second_runner_cannot_take_a_saga_whose_lease_is_held(
    journal, storage, resolver
) -> None:
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    first = asyncio.create_task(
        drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, owner="runner-a"
            )
        )
    )
    await asyncio.wait_for(entered.wait(), GUARD)

    with pytest.raises(SagaConcurrencyError, match="lease"):
        await drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, owner="runner-b"
            )
        )

    assert journal.calls == ["act Reserve", "act Charge"]  # the second ran nothing
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, "runner-a")

    gate.set()
    results = await asyncio.wait_for(first, GUARD)

    assert [r.step_id for r in results] == ["Reserve", "Charge", "Ship"]
    assert journal.compensations() == []
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.COMPLETED, None)


async def test_the_same_owner_may_resume_its_own_lease(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    await storage.create_saga(saga_id, "OrderSaga", context.to_dict())
    await storage.update_status(saga_id, SagaStatus.RUNNING)
    assert await storage.acquire_lease(saga_id, "me", 60)

    results = await drain(OrderSaga().transaction(context, resolver, storage, saga_id, owner="me"))

    assert [r.step_id for r in results] == ["Reserve", "Charge", "Ship"]


async def test_a_runner_that_lost_its_lease_stops_without_compensating(
    journal, storage, resolver
) -> None:
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    first = asyncio.create_task(
        drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, owner="runner-a"
            )
        )
    )
    await asyncio.wait_for(entered.wait(), GUARD)
    # runner-a stalled past its lease and runner-b took the saga over.
    await storage.release_lease(saga_id, "runner-a")
    assert await storage.acquire_lease(saga_id, "runner-b", 60)

    gate.set()
    with pytest.raises(SagaConcurrencyError):
        await asyncio.wait_for(first, GUARD)

    assert journal.calls == ["act Reserve", "act Charge"]  # runner-b's saga is left alone
    history = await storage.get_step_history(saga_id)
    assert "Charge act completed" not in lines(history)
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, "runner-b")


async def test_the_lease_is_renewed_while_a_step_runs(journal, storage, resolver) -> None:
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    lease = 0.2
    first = asyncio.create_task(
        drain(
            OrderSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, lease_seconds=lease
            )
        )
    )
    await asyncio.wait_for(entered.wait(), GUARD)

    await asyncio.sleep(lease * 2)  # time must pass: the lease would have expired by now

    assert not await storage.acquire_lease(saga_id, "someone-else", 60)
    gate.set()
    assert len(await asyncio.wait_for(first, GUARD)) == 3


class FailingStorage(MemorySagaStorage):
    """Fails the checkpoint that would record `fail_on` (a "<step> <action> <status>" line)."""

    def __init__(self, fail_on: str) -> None:
        super().__init__()
        self.fail_on: str | None = fail_on

    async def checkpoint(self, saga_id: uuid.UUID, **kwargs: Any) -> None:
        log = kwargs.get("log")
        if log is not None and f"{log.step_name} {log.action} {log.status.value}" == self.fail_on:
            msg = "database connection lost"
            raise OSError(msg)
        await super().checkpoint(saga_id, **kwargs)


async def test_a_storage_failure_stops_the_saga_without_compensating(journal, resolver) -> None:
    storage = FailingStorage("Charge act completed")
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")

    with pytest.raises(SagaStorageError, match="Charge act completed") as raised:
        await drain(OrderSaga().transaction(context, resolver, storage, saga_id, **FAST))

    assert isinstance(raised.value.__cause__, OSError)
    assert journal.calls == ["act Reserve", "act Charge"]  # nothing compensated
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, None)

    # Once the storage is back, the saga is finished from where it was stored.
    storage.fail_on = None
    journal.calls.clear()
    stored = OrderContext.from_dict(state.context)
    results = await drain(OrderSaga().transaction(stored, resolver, storage, saga_id))

    assert [r.step_id for r in results] == ["Charge", "Ship"]
    assert [run.attempt for run in journal.runs if run.step_id == "Charge"] == [1, 2]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_the_heartbeat_notices_a_lost_lease(journal, storage, resolver) -> None:
    entered, gate = journal.pause("Charge")
    saga_id = uuid.uuid4()
    with watch_log("lost its lease") as lost:
        first = asyncio.create_task(
            drain(
                OrderSaga().transaction(
                    OrderContext(order_id="o1"),
                    resolver,
                    storage,
                    saga_id,
                    owner="runner-a",
                    lease_seconds=0.03,
                )
            )
        )
        await asyncio.wait_for(entered.wait(), GUARD)
        await storage.release_lease(saga_id, "runner-a")
        assert await storage.acquire_lease(saga_id, "runner-b", 60)

        await asyncio.wait_for(lost.wait(), GUARD)  # the heartbeat's next renewal

    gate.set()
    with pytest.raises(SagaConcurrencyError):
        await asyncio.wait_for(first, GUARD)
    assert journal.compensations() == []


class UnreleasingStorage(MemorySagaStorage):
    async def release_lease(self, saga_id: uuid.UUID, owner: str) -> None:
        msg = "connection reset"
        raise OSError(msg)


async def test_a_lease_that_cannot_be_released_is_only_a_warning(journal, resolver, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="cqrs.saga")
    storage = UnreleasingStorage()
    saga_id = uuid.uuid4()
    transaction = OrderSaga().transaction(
        OrderContext(order_id="o1"), resolver, storage, saga_id, owner="me"
    )

    async with transaction:
        async for _ in transaction:
            break  # stopping early releases the lease (completing releases it in the last write)

    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, "me")  # it expires
    assert any("could not release its lease" in r.getMessage() for r in caplog.records)


# --- the caller's loop body failing --------------------------------------------------------


async def test_an_error_in_the_callers_loop_compensates_the_completed_steps(
    journal, storage, resolver
) -> None:
    saga_id = uuid.uuid4()

    async def failing_caller() -> None:
        transaction = OrderSaga().transaction(
            OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
        )
        async with transaction:
            async for result in transaction:
                if result.step_id == "Charge":
                    raise KeyError("caller")

    with pytest.raises(KeyError, match="caller"):
        await failing_caller()

    assert journal.calls == [
        "act Reserve",
        "act Charge",
        "compensate Charge",
        "compensate Reserve",
    ]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.FAILED, None)


async def test_an_error_after_a_finished_loop_does_not_compensate(
    journal, storage, resolver
) -> None:
    saga_id = uuid.uuid4()

    async def caller() -> None:
        transaction = OrderSaga().transaction(
            OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
        )
        async with transaction:
            async for _ in transaction:
                pass
            raise KeyError("after the saga")

    with pytest.raises(KeyError):
        await caller()

    assert journal.compensations() == []
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_a_transaction_can_be_iterated_without_async_with(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()
    journal.fail("act", "Ship", RuntimeError("no truck"))
    transaction = OrderSaga().transaction(
        OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
    )
    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(RuntimeError):
        await stream_into(aiter(transaction), yielded)

    assert [r.step_id for r in yielded] == ["Reserve", "Charge"]
    assert journal.compensations() == ["compensate Charge", "compensate Reserve"]
    state = await storage.load_saga(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.FAILED, None)


async def test_python_cqrs_keyword_call(journal, storage, resolver) -> None:
    saga = OrderSaga()
    saga_id = uuid.uuid4()

    async with saga.transaction(
        context=OrderContext(order_id="o1"),
        container=resolver,
        storage=storage,
        saga_id=saga_id,
        compensation_retry_count=3,
        compensation_retry_delay=1.0,
        compensation_retry_backoff=2.0,
    ) as transaction:
        names = [step_result.step_type.__name__ async for step_result in transaction]

    assert names == ["Reserve", "Charge", "Ship"]
    status, context, _ = await storage.load_saga_state(saga_id)
    assert (status.value, context["shipped"]) == ("completed", True)


# --- step ids ---------------------------------------------------------------------------


class TwiceSaga(Saga[OrderContext]):
    steps = [Reserve, Charge, Reserve]


class ReserveV1(Reserve):
    step_id = "reserve-v1"


class VersionedSaga(Saga[OrderContext]):
    steps = [ReserveV1, Charge, ReserveV1]


async def test_the_same_step_twice_gets_two_ids(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()

    results = await drain(
        TwiceSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
    )

    assert [r.step_id for r in results] == ["Reserve", "Charge", "Reserve#2"]
    assert [spec.step_id for spec in TwiceSaga().step_specs] == ["Reserve", "Charge", "Reserve#2"]
    history = await storage.get_step_history(saga_id)
    assert [e.step_name for e in history if e.status is SagaStepStatus.COMPLETED] == [
        "Reserve",
        "Charge",
        "Reserve#2",
    ]


async def test_a_declared_step_id_is_used_in_results_and_history(
    journal, storage, resolver
) -> None:
    saga_id = uuid.uuid4()

    results = await drain(
        VersionedSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
    )

    assert [r.step_id for r in results] == ["reserve-v1", "Charge", "reserve-v1#2"]
    assert [r.step_type for r in results] == [ReserveV1, Charge, ReserveV1]
    history = await storage.get_step_history(saga_id)
    assert {e.step_name for e in history} == {"reserve-v1", "Charge", "reserve-v1#2"}


@pytest.mark.parametrize(("stop_after", "rest"), [(1, ["Charge", "Reserve#2"]), (2, ["Reserve#2"])])
async def test_resuming_with_a_repeated_step_resumes_at_the_right_one(
    journal, storage, resolver, stop_after, rest
) -> None:
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    transaction = TwiceSaga().transaction(context, resolver, storage, saga_id)
    async with transaction:
        count = 0
        async for _ in transaction:
            count += 1
            if count == stop_after:
                break
    journal.calls.clear()

    results = await drain(TwiceSaga().transaction(context, resolver, storage, saga_id))

    assert [r.step_id for r in results] == rest
    assert journal.acts() == [f"act {step_id.split('#')[0]}" for step_id in rest]
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_a_failure_after_a_repeated_step_compensates_both_occurrences(
    journal, storage, resolver
) -> None:
    class TwiceThenShip(Saga[OrderContext]):
        steps = [Reserve, Charge, Reserve, Ship]

    journal.fail("act", "Ship", RuntimeError("no truck"))
    saga_id = uuid.uuid4()

    with pytest.raises(RuntimeError):
        await drain(
            TwiceThenShip().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert journal.compensations() == [
        "compensate Reserve",
        "compensate Charge",
        "compensate Reserve",
    ]
    history = await storage.get_step_history(saga_id)
    compensated = [
        e.step_name
        for e in history
        if e.action == "compensate" and e.status is SagaStepStatus.COMPLETED
    ]
    assert compensated == ["Reserve#2", "Charge", "Reserve"]


# --- fallbacks ---------------------------------------------------------------------------


class Delivery(cqrs.Response):
    carrier: str


class Courier(SagaStepHandler[OrderContext, Delivery]):
    """The primary: changes the context, then (when told to) fails."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Delivery]:
        context.shipped = True
        context.trail.append("courier")
        await self._journal.record("act", "Courier")
        return self._generate_step_result(Delivery(carrier="courier"))

    async def compensate(self, context: OrderContext) -> None:
        await self._journal.record("compensate", "Courier")


class Post(SagaStepHandler[OrderContext, Delivery]):
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Delivery]:
        self._journal.calls.append(f"Post saw {context.trail} shipped={context.shipped}")
        await self._journal.record("act", "Post")
        context.shipped = True
        context.trail.append("post")
        return self._generate_step_result(Delivery(carrier="post"))

    async def compensate(self, context: OrderContext) -> None:
        await self._journal.record("compensate", "Post")
        context.trail.append("post recalled")


class DeliverySaga(Saga[OrderContext]):
    steps = [Reserve, Fallback(step=Courier, fallback=Post)]


class PickyDeliverySaga(Saga[OrderContext]):
    steps = [Reserve, Fallback(step=Courier, fallback=Post, failure_exceptions=(ConnectionError,))]


async def test_a_failing_primary_is_replaced_by_its_fallback(journal, storage, resolver) -> None:
    journal.fail("act", "Courier", ConnectionError("courier down"))
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")

    results = await drain(DeliverySaga().transaction(context, resolver, storage, saga_id))

    assert [(r.step_type, r.step_id) for r in results] == [(Reserve, "Reserve"), (Post, "Post")]
    assert results[1].response == Delivery(carrier="post")
    # The fallback saw the context as it was before the primary changed it.
    assert "Post saw ['reserved'] shipped=False" in journal.calls
    assert context.trail == ["reserved", "post"]
    state = await storage.load_saga(saga_id)
    assert state.status is SagaStatus.COMPLETED
    assert state.context["trail"] == ["reserved", "post"]
    assert lines(await storage.get_step_history(saga_id))[2:] == [
        "Courier act started",
        "Courier act failed",
        "Post act started",
        "Post act completed",
    ]


async def test_a_succeeding_primary_runs_alone(journal, storage, resolver) -> None:
    results = await drain(
        DeliverySaga().transaction(OrderContext(order_id="o1"), resolver, storage)
    )

    assert [(r.step_type, r.step_id) for r in results] == [
        (Reserve, "Reserve"),
        (Courier, "Courier"),
    ]
    assert "act Post" not in journal.calls


async def test_an_error_outside_failure_exceptions_fails_the_saga(
    journal, storage, resolver
) -> None:
    journal.fail("act", "Courier", ValueError("bad address"))
    saga_id = uuid.uuid4()

    with pytest.raises(ValueError, match="bad address"):
        await drain(
            PickyDeliverySaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert journal.calls == ["act Reserve", "act Courier", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


async def test_a_listed_error_runs_the_fallback(journal, storage, resolver) -> None:
    journal.fail("act", "Courier", ConnectionError("courier down"))

    results = await drain(
        PickyDeliverySaga().transaction(OrderContext(order_id="o1"), resolver, storage)
    )

    assert results[-1].step_type is Post


async def test_a_failing_fallback_fails_the_saga_with_its_own_error(
    journal, storage, resolver
) -> None:
    journal.fail("act", "Courier", ConnectionError("courier down"))
    fallback_error = RuntimeError("post office closed")
    journal.fail("act", "Post", fallback_error)
    saga_id = uuid.uuid4()

    with pytest.raises(RuntimeError) as raised:
        await drain(
            DeliverySaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            )
        )

    assert raised.value is fallback_error
    assert journal.compensations() == ["compensate Reserve"]  # neither delivery completed
    assert lines(await storage.get_step_history(saga_id))[2:6] == [
        "Courier act started",
        "Courier act failed",
        "Post act started",
        "Post act failed",
    ]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


class CircuitOpen(Exception):
    pass


class FakeBreaker:
    """An `ICircuitBreaker` whose circuits are open or closed as the test says."""

    def __init__(self, *, open_: bool) -> None:
        self.open = open_
        self.identifiers: list[object] = []

    async def call(
        self,
        identifier: object,
        func: Callable[..., Awaitable[Any]],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        self.identifiers.append(identifier)
        if self.open:
            raise CircuitOpen(identifier)
        return await func(*args, **kwargs)

    def is_circuit_breaker_error(self, exc: BaseException, /) -> bool:
        return isinstance(exc, CircuitOpen)


async def test_an_open_circuit_runs_the_fallback_without_calling_the_primary(
    journal, storage, resolver
) -> None:
    breaker = FakeBreaker(open_=True)

    class BrokenCircuitSaga(Saga[OrderContext]):
        steps = [
            Reserve,
            Fallback(
                step=Courier,
                fallback=Post,
                failure_exceptions=(ConnectionError,),  # the breaker's refusal counts anyway
                circuit_breaker=breaker,
            ),
            Charge,
        ]

    journal.fail("act", "Charge", ValueError("card declined"))
    saga_id = uuid.uuid4()
    yielded: list[SagaStepResult[Any, Any]] = []

    with pytest.raises(ValueError, match="card declined"):
        await collect(
            BrokenCircuitSaga().transaction(
                OrderContext(order_id="o1"), resolver, storage, saga_id, **FAST
            ),
            yielded,
        )

    assert breaker.identifiers == [Courier]  # the circuit is named by the primary's class
    assert "act Courier" not in journal.calls
    assert [(r.step_type, r.step_id) for r in yielded] == [(Reserve, "Reserve"), (Post, "Post")]
    # The fallback ran, so it is what gets compensated; the primary never completed.
    assert journal.compensations() == ["compensate Post", "compensate Reserve"]
    assert await status_of(storage, saga_id) is SagaStatus.FAILED


async def test_a_closed_circuit_runs_the_primary_through_the_breaker(
    journal, storage, resolver
) -> None:
    breaker = FakeBreaker(open_=False)

    class ClosedCircuitSaga(Saga[OrderContext]):
        steps = [Fallback(step=Courier, fallback=Post, circuit_breaker=breaker)]

    results = await drain(
        ClosedCircuitSaga().transaction(OrderContext(order_id="o1"), resolver, storage)
    )

    assert breaker.identifiers == [Courier]
    assert [r.step_type for r in results] == [Courier]


async def test_a_completed_fallback_is_skipped_on_resume(journal, storage, resolver) -> None:
    class FallbackThenCharge(Saga[OrderContext]):
        steps = [Fallback(step=Courier, fallback=Post), Charge]

    journal.fail("act", "Courier", ConnectionError("courier down"))
    saga_id = uuid.uuid4()
    context = OrderContext(order_id="o1")
    transaction = FallbackThenCharge().transaction(context, resolver, storage, saga_id)
    async with transaction:
        async for result in transaction:
            assert result.step_type is Post
            break
    journal.calls.clear()

    results = await drain(FallbackThenCharge().transaction(context, resolver, storage, saga_id))

    assert [r.step_id for r in results] == ["Charge"]
    assert journal.acts() == ["act Charge"]


# --- checks made when a saga class is created ------------------------------------------------


@dataclasses.dataclass
class InvoiceContext(SagaContext):
    invoice_id: str


class SendInvoice(SagaStepHandler[InvoiceContext, None]):
    async def act(self, context: InvoiceContext) -> SagaStepResult[InvoiceContext, None]:
        return self._generate_step_result(None)

    async def compensate(self, context: InvoiceContext) -> None:
        pass


def test_a_step_for_another_context_is_rejected_naming_everything() -> None:
    with pytest.raises(SagaStepTypeError) as raised:

        class MixedSaga(Saga[OrderContext]):
            steps = [Reserve, SendInvoice]

    assert isinstance(raised.value, TypeError)
    message = str(raised.value)
    for part in ("MixedSaga", "steps[1]", "SendInvoice", "InvoiceContext", "OrderContext"):
        assert part in message


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ([Reserve, "Charge"], r"steps\[1\] must be a step class or a Fallback"),
        ([int], r"steps\[0\] \(int\) must be a subclass of SagaStepHandler"),
        ({Reserve}, "must be a list of step classes, got set"),
        ("Reserve", "must be a list of step classes, got str"),
        ([Fallback(step=Ship, fallback=SendInvoice)], r"steps\[0\]\.fallback \(SendInvoice\)"),
        ([Fallback(step=SendInvoice, fallback=Ship)], r"steps\[0\]\.step \(SendInvoice\)"),
    ],
)
def test_bad_steps_are_rejected(steps: object, match: str) -> None:
    bad = steps
    with pytest.raises(SagaStepTypeError, match=match) as raised:

        class BadSaga(Saga[OrderContext]):
            steps = bad

    assert "<locals>.BadSaga" in str(raised.value)


def test_a_fallback_returning_another_response_type_is_rejected() -> None:
    with pytest.raises(SagaStepTypeError, match=r"steps\[0\]: the fallback Ship returns") as raised:

        class MismatchedSaga(Saga[OrderContext]):
            steps = [Fallback(step=Courier, fallback=Ship)]

    assert "Delivery" in str(raised.value)


def test_an_abstract_step_is_rejected() -> None:
    class NoCompensate(SagaStepHandler[OrderContext, None]):
        async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
            return self._generate_step_result(None)

    with pytest.raises(SagaStepTypeError, match=r"NoCompensate\) does not implement compensate"):

        class AbstractSaga(Saga[OrderContext]):
            steps = [NoCompensate]


@dataclasses.dataclass
class RushOrder(OrderContext):
    deadline_hours: int = 24


class RushSaga(Saga[RushOrder]):
    steps = [Reserve, Charge, Ship]  # steps for the base context


async def test_a_step_for_a_base_context_is_accepted(journal, storage, resolver) -> None:
    saga_id = uuid.uuid4()

    results = await drain(
        RushSaga().transaction(
            RushOrder(order_id="o1", deadline_hours=2), resolver, storage, saga_id
        )
    )

    assert [r.step_type for r in results] == [Reserve, Charge, Ship]
    stored = (await storage.load_saga(saga_id)).context
    assert (stored["deadline_hours"], stored["shipped"]) == (2, True)


def test_an_empty_saga_and_its_properties() -> None:
    class EmptySaga(Saga[OrderContext]):
        steps = []

    assert EmptySaga().steps_count == 0
    assert EmptySaga().name.endswith("<locals>.EmptySaga")  # the qualified name
    assert EmptySaga.context_type() is OrderContext
    assert OrderSaga().steps_count == 3


async def test_an_empty_saga_completes_with_no_results(storage, resolver) -> None:
    class EmptySaga(Saga[OrderContext]):
        steps = []

    saga_id = uuid.uuid4()
    assert (
        await drain(
            EmptySaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id)
        )
        == []
    )
    assert await status_of(storage, saga_id) is SagaStatus.COMPLETED


async def test_saga_name_is_stored(storage, resolver) -> None:
    class NamedSaga(Saga[OrderContext]):
        steps = [Reserve]
        saga_name = "orders.v2"

    saga_id = uuid.uuid4()
    await drain(NamedSaga().transaction(OrderContext(order_id="o1"), resolver, storage, saga_id))

    assert (await storage.load_saga(saga_id)).name == "orders.v2"
