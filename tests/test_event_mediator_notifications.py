"""`EventMediator.send(notification_event)` runs the handlers bound to it (consumer side)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import di
import pytest

import cqrs
from cqrs.events import bootstrap as events_bootstrap


class Shipped(cqrs.Response):
    order_id: str


class OrderShipped(cqrs.NotificationEvent[Shipped]):
    pass


@dataclasses.dataclass(frozen=True)
class DCShipped:
    order_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCOrderShipped(cqrs.DCNotificationEvent[DCShipped]):
    pass


class ShipmentRecorded(cqrs.DomainEvent):
    order_id: str


seen: list[object] = []


class OnShipped(cqrs.EventHandler[OrderShipped]):
    async def handle(self, event: OrderShipped) -> None:
        seen.append(event)
        self._events = [ShipmentRecorded(order_id=event.payload.order_id)]

    @property
    def events(self) -> list[cqrs.IEvent]:
        return list(getattr(self, "_events", []))


class OnDCShipped(cqrs.EventHandler[DCOrderShipped]):
    async def handle(self, event: DCOrderShipped) -> None:
        seen.append(event)


class OnRecorded(cqrs.EventHandler[ShipmentRecorded]):
    async def handle(self, event: ShipmentRecorded) -> None:
        seen.append(event)


class FollowUpNotification(cqrs.EventHandler[ShipmentRecorded]):
    """Raises a notification event as a follow-up: the consumer handles it, never publishes."""

    async def handle(self, event: ShipmentRecorded) -> None:
        self._events = [DCOrderShipped(event_name="again", payload=DCShipped(event.order_id))]

    @property
    def events(self) -> list[cqrs.IEvent]:
        return list(getattr(self, "_events", []))


@pytest.fixture(autouse=True)
def _clear() -> None:
    seen.clear()


def _mediator(
    bind: list[tuple[type[cqrs.IEvent], type[cqrs.EventHandler[Any]]]],
) -> cqrs.EventMediator:
    def events(mapper: cqrs.EventMap) -> None:
        for event_type, handler in bind:
            mapper.bind(event_type, handler)

    return events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events)


async def test_a_pydantic_notification_event_runs_its_handlers_and_their_follow_ups() -> None:
    mediator = _mediator([(OrderShipped, OnShipped), (ShipmentRecorded, OnRecorded)])
    event = OrderShipped(event_name="order_shipped", payload=Shipped(order_id="o1"))

    await mediator.send(event)

    assert seen == [event, ShipmentRecorded(order_id="o1")]


async def test_a_dataclass_notification_event_runs_its_handlers() -> None:
    mediator = _mediator([(DCOrderShipped, OnDCShipped)])
    event = DCOrderShipped(event_name="order_shipped", payload=DCShipped("o2"))

    await mediator.send(event)

    assert seen == [event]


async def test_a_follow_up_notification_event_is_handled_not_published() -> None:
    mediator = _mediator([(ShipmentRecorded, FollowUpNotification), (DCOrderShipped, OnDCShipped)])

    await mediator.send(ShipmentRecorded(order_id="o3"))

    assert len(seen) == 1
    assert isinstance(seen[0], DCOrderShipped)
    assert seen[0].payload == DCShipped("o3")


async def test_a_notification_event_without_handlers_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mediator = _mediator([])

    with caplog.at_level(logging.WARNING, logger="cqrs"):
        await mediator.send(OrderShipped(event_name="x", payload=Shipped(order_id="o4")))

    assert "OrderShipped" in caplog.text
    assert seen == []
