"""Negative: saga steps, fallbacks, bindings and stream results that do not fit their context or response."""

import dataclasses
import uuid

import cqrs
from cqrs.container.protocol import Resolver
from cqrs.saga.fallback import Fallback
from cqrs.saga.map import SagaMap
from cqrs.saga.mediator import SagaMediator
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import recover_saga
from cqrs.saga.retry import Retry
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage.protocol import ISagaStorage


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str = ""


@dataclasses.dataclass
class RefundContext(SagaContext):
    payment_id: str = ""


@dataclasses.dataclass
class PriorityOrderContext(OrderContext):
    priority: int = 0


class Reserved(cqrs.Response):
    reservation_id: str


class Shipped(cqrs.Response):
    carrier: str


class ReserveInventory(SagaStepHandler[OrderContext, Reserved]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        return self._generate_step_result(Reserved(reservation_id="r"))

    async def compensate(self, context: OrderContext) -> None:
        pass


class ShipWithCarrier(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="fast"))

    async def compensate(self, context: OrderContext) -> None:
        pass


class ShipRefund(SagaStepHandler[RefundContext, Shipped]):
    async def act(self, context: RefundContext) -> SagaStepResult[RefundContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="return"))

    async def compensate(self, context: RefundContext) -> None:
        pass


class ShipPriority(SagaStepHandler[PriorityOrderContext, Shipped]):
    async def act(
        self, context: PriorityOrderContext
    ) -> SagaStepResult[PriorityOrderContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="express"))

    async def compensate(self, context: PriorityOrderContext) -> None:
        pass


class OrderSaga(Saga[OrderContext]):
    steps = [ReserveInventory, ShipWithCarrier]


# -- steps that do not fit the saga's context ------------------------------------------------


class StepForAnotherContext(Saga[OrderContext]):
    steps = [ReserveInventory, ShipRefund]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]


class StepForASubclassContext(Saga[OrderContext]):
    # Contravariance goes one way only: a step for a subclass context needs that subclass.
    steps = [ReserveInventory, ShipPriority]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]


class FallbackForAnotherContext(Saga[OrderContext]):
    steps = [ReserveInventory, Fallback(step=ShipWithCarrier, fallback=ShipRefund)]  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


class FallbackPairForAnotherContext(Saga[RefundContext]):
    steps = [Fallback(step=ShipWithCarrier, fallback=ShipWithCarrier)]  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]


class NotAStep(Saga[OrderContext]):
    steps = [ReserveInventory, Shipped]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]


class AStepInstance(Saga[OrderContext]):
    steps = [ReserveInventory()]  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]


# -- fallback pairs whose response types differ ------------------------------------------------

different_responses = Fallback(step=ShipWithCarrier, fallback=ReserveInventory)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]


class FallbackResponsesDiffer(Saga[OrderContext]):
    steps = [Fallback(step=ShipWithCarrier, fallback=ReserveInventory)]  # type: ignore[misc]  # pyright: ignore[reportArgumentType]


# -- a step's act returns another response than it declares ------------------------------------


class WrongResponse(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        return self._generate_step_result(Reserved(reservation_id="r"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    async def compensate(self, context: OrderContext) -> None:
        pass


class WrongResultType(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        raise NotImplementedError

    async def compensate(self, context: OrderContext) -> None:
        pass


class CompensatesAnotherContext(SagaStepHandler[OrderContext, Shipped]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Shipped]:
        return self._generate_step_result(Shipped(carrier="fast"))

    async def compensate(self, context: RefundContext) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        pass


# -- mapping, running, recovering ------------------------------------------------------------------


def sagas_mapper(mapper: SagaMap) -> None:
    mapper.bind(RefundContext, OrderSaga)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
    mapper.bind(OrderContext, ReserveInventory)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


async def run(mediator: SagaMediator) -> None:
    mediator.stream(Shipped(carrier="x"))  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
    mediator.stream(OrderContext(), saga_id="not-a-uuid")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    async for step_result in mediator.stream(OrderContext(), saga_id=uuid.uuid4()):
        # The stream's response may be None (a step that returns nothing).
        step_result.response.to_dict()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]


async def recover(container: Resolver, storage: ISagaStorage, saga_id: uuid.UUID) -> None:
    await recover_saga(OrderSaga(), saga_id, RefundContext, container, storage)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


retry = Retry(attempts="3")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
