"""Positive: sagas written the python-cqrs way type-check, and keep their context and response types."""

import dataclasses
import uuid
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import di
from typing_extensions import assert_type

import cqrs
from cqrs.container.protocol import Resolver
from cqrs.events import IEvent
from cqrs.response import IResponse
from cqrs.saga import bootstrap
from cqrs.saga.fallback import Fallback
from cqrs.saga.map import SagaMap
from cqrs.saga.mediator import SagaMediator
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import recover_saga
from cqrs.saga.retry import Retry
from cqrs.saga.saga import Saga, SagaTransaction
from cqrs.saga.step import SagaStepHandler, SagaStepResult, StepRun, current_step
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.protocol import ISagaStorage

# -- contexts ----------------------------------------------------------------------------


@dataclasses.dataclass
class AuditedContext(SagaContext):
    """A base context: steps written for it fit every saga over a subclass of it."""

    trail: list[str] = dataclasses.field(default_factory=list[str])


@dataclasses.dataclass
class OrderContext(AuditedContext):
    order_id: str = ""
    amount: int = 0
    reservation_id: str | None = None
    payment_id: str | None = None


@dataclasses.dataclass
class RefundContext(SagaContext):
    payment_id: str = ""


# -- responses and events -----------------------------------------------------------------


class Reserved(cqrs.Response):
    reservation_id: str


class Charged(cqrs.Response):
    payment_id: str


class Shipped(cqrs.Response):
    carrier: str


class Refunded(cqrs.Response):
    ok: bool


class InventoryReserved(cqrs.DomainEvent, frozen=True):
    order_id: str


# -- steps ---------------------------------------------------------------------------------


class ReserveInventory(SagaStepHandler[OrderContext, Reserved]):
    def __init__(self) -> None:
        self._events: list[IEvent] = []

    @property
    def events(self) -> Sequence[IEvent]:
        return self._events

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        context.reservation_id = f"r-{context.order_id}"
        self._events.append(InventoryReserved(order_id=context.order_id))
        return self._generate_step_result(Reserved(reservation_id=context.reservation_id))

    async def compensate(self, context: OrderContext) -> None:
        context.reservation_id = None


class ChargePayment(SagaStepHandler[OrderContext, Charged]):
    retry = Retry(attempts=5, delay=0.5, backoff=2.0, max_delay=10.0, on=(ConnectionError,))
    timeout = 1.0
    step_id = "charge-payment"

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Charged]:
        key = current_step().idempotency_key
        assert_type(key, str)
        context.payment_id = key
        return self._generate_step_result(Charged(payment_id=key))

    # The python-cqrs form that receives what `act` returned.
    async def compensate(self, context: OrderContext, response: Charged | None = None) -> None:
        if response is not None:
            assert_type(response.payment_id, str)
        context.payment_id = None


class ShipWithCarrier(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="fast"))

    async def compensate(self, context: OrderContext) -> None:
        pass


class ShipByPost(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="post"))

    async def compensate(self, context: OrderContext) -> None:
        pass


class WriteAudit(SagaStepHandler[AuditedContext, None]):
    """A step over the base context, used in a saga over `OrderContext`."""

    async def act(self, context: AuditedContext) -> SagaStepResult[AuditedContext, None]:
        context.trail.append("done")
        return self._generate_step_result(None)

    async def compensate(self, context: AuditedContext) -> None:
        context.trail.pop()


class AuditedShipping(SagaStepHandler[AuditedContext, Shipped]):
    async def act(self, context: AuditedContext) -> SagaStepResult[AuditedContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="audited"))

    async def compensate(self, context: AuditedContext) -> None:
        pass


class RefundPayment(SagaStepHandler[RefundContext, Refunded]):
    async def act(self, context: RefundContext) -> SagaStepResult[RefundContext, Refunded]:
        return self._generate_step_result(Refunded(ok=True))

    async def compensate(self, context: RefundContext) -> None:
        pass


# -- sagas ---------------------------------------------------------------------------------


class OrderSaga(Saga[OrderContext]):
    steps = [
        ReserveInventory,
        ChargePayment,
        Fallback(step=ShipWithCarrier, fallback=ShipByPost),
        WriteAudit,
        Fallback(step=AuditedShipping, fallback=ShipByPost, failure_exceptions=(TimeoutError,)),
    ]


class RefundSaga(Saga[RefundContext]):
    saga_name = "refund"
    timeout = 30.0
    steps = [RefundPayment]


class TupleSaga(Saga[OrderContext]):
    steps = (
        ReserveInventory,
        Fallback(
            step=ShipWithCarrier,
            fallback=ShipByPost,
            failure_exceptions=(TimeoutError, ConnectionError),
        ),
    )


assert_type(Fallback(step=ShipWithCarrier, fallback=ShipByPost), Fallback[OrderContext, Shipped])
assert_type(Fallback(ShipWithCarrier, ShipByPost), Fallback[OrderContext, Shipped])
# A step for the base context pairs with one for the saga's context, either way round.
assert_type(Fallback(step=AuditedShipping, fallback=ShipByPost), Fallback[OrderContext, Shipped])
assert_type(Fallback(step=ShipByPost, fallback=AuditedShipping), Fallback[OrderContext, Shipped])
assert_type(OrderSaga.saga_name, str | None)
assert_type(OrderSaga.context_type(), type[Any] | None)


def inside_a_step() -> None:
    assert_type(current_step(), StepRun)
    assert_type(current_step().idempotency_key, str)
    assert_type(current_step().attempt, int)


def step_settings(step: type[SagaStepHandler[Any, Any]]) -> None:
    assert_type(step.retry, Retry | None)
    assert_type(step.timeout, float | None)
    assert_type(step.step_id, str | None)


step_settings(ChargePayment)
step_settings(WriteAudit)
assert_type(Retry(attempts=3).attempts, int)
assert_type(Retry().wait(2), float)

# -- wiring --------------------------------------------------------------------------------


def sagas_mapper(mapper: SagaMap) -> None:
    mapper.bind(OrderContext, OrderSaga)
    mapper.bind(RefundContext, RefundSaga)


def setup() -> SagaMediator:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        sagas_mapper=sagas_mapper,
        saga_storage=MemorySagaStorage(),
    )
    assert_type(mediator, SagaMediator)
    assert_type(cqrs.SagaMediator, type[SagaMediator])
    return mediator


# -- running -------------------------------------------------------------------------------


async def run(mediator: SagaMediator) -> list[str]:
    context = OrderContext(order_id="o-1", amount=10)
    names: list[str] = []
    stream = mediator.stream(context, saga_id=uuid.uuid4())
    assert_type(stream, AsyncGenerator[SagaStepResult[OrderContext, IResponse | None], None])
    async for step_result in stream:
        assert_type(step_result, SagaStepResult[OrderContext, IResponse | None])
        assert_type(step_result.response, IResponse | None)
        assert_type(step_result.saga_id, uuid.UUID | None)
        assert_type(step_result.step_id, str | None)
        names.append(step_result.step_type.__name__)
        if step_result.response is not None:
            assert_type(step_result.response.to_dict(), dict[str, Any])
    await mediator.stream(context).aclose()
    # Covariance: a result for a specific response is a result for any response.
    results: list[SagaStepResult[SagaContext, IResponse | None]] = []
    async for refund_result in mediator.stream(RefundContext(payment_id="p")):
        assert_type(refund_result, SagaStepResult[RefundContext, IResponse | None])
        results.append(refund_result)
    return names


def any_result(result: SagaStepResult[SagaContext, IResponse | None]) -> IResponse | None:
    return result.response


def covariance(result: SagaStepResult[OrderContext, Charged]) -> None:
    # A result for a subclass context and a specific response is a result for any.
    assert_type(any_result(result), IResponse | None)
    assert_type(result.response, Charged)


async def run_directly(container: Resolver, storage: ISagaStorage) -> OrderContext:
    saga = OrderSaga()
    context = OrderContext(order_id="o-2")
    transaction = saga.transaction(context=context, container=container, storage=storage)
    assert_type(transaction, SagaTransaction[OrderContext])
    async with transaction as running:
        assert_type(running, SagaTransaction[OrderContext])
        assert_type(running.saga_id, uuid.UUID)
        async for step_result in running:
            assert_type(step_result, SagaStepResult[OrderContext, Any])
        assert_type(running.completed_steps, list[str])
    assert_type(transaction.context, OrderContext)
    return transaction.context


async def recover(container: Resolver, storage: ISagaStorage, saga_id: uuid.UUID) -> None:
    saga = OrderSaga()
    await recover_saga(saga, saga_id, OrderContext, container, storage)
    await recover_saga(saga, saga_id, OrderContext.from_dict, container, storage)
    await recover_saga(
        saga,
        saga_id,
        lambda data: OrderContext(order_id=str(data["order_id"])),
        container,
        storage,
        lease_seconds=60.0,
    )
    assert_type(OrderContext.from_dict({}), OrderContext)
