"""Positive (issue 9, item 4): events declared with or without `frozen=True`."""

from typing_extensions import assert_type

import cqrs


class Placed(cqrs.Response):
    order_id: int


class OrderPlaced(cqrs.DomainEvent):  # python-cqrs's documentation writes them so
    order_id: int


class OrderShipped(cqrs.DomainEvent, frozen=True):  # this package's documentation so
    order_id: int


class OrderPaid(cqrs.NotificationEvent[Placed]):
    pass


class OrderAudited(cqrs.Event):
    order_id: int


class Refined(OrderPlaced):  # a subclass of an unmarked event: still an event
    note: str = ""


placed = OrderPlaced(order_id=1)
assert_type(placed.order_id, int)
assert_type(hash(placed), int)
assert_type(OrderShipped(order_id=1), OrderShipped)
paid = OrderPaid(event_name="paid", payload=Placed(order_id=1))
assert_type(paid.payload, Placed)
audited: cqrs.IEvent = OrderAudited(order_id=1)
assert_type(Refined(order_id=1, note="n").note, str)
events: list[cqrs.IEvent] = [placed, paid, OrderAudited(order_id=2)]
