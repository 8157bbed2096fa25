"""Negative (issue 9, item 4): events stay immutable, however they are declared."""

import cqrs


class OrderPlaced(cqrs.DomainEvent):
    order_id: int


class OrderShipped(cqrs.DomainEvent, frozen=True):
    order_id: int


class Placed(cqrs.Response):
    order_id: int


class OrderPaid(cqrs.NotificationEvent[Placed]):
    pass


placed = OrderPlaced(order_id=1)
placed.order_id = 2  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
OrderShipped(order_id=1).order_id = 2  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
OrderPaid(event_name="paid", payload=Placed(order_id=1)).topic = "other"  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
OrderPlaced(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
