"""Negative: an event handler bound to an event it does not handle."""

import cqrs


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class UserLeft(cqrs.DomainEvent, frozen=True):
    user_id: int


class OrderEvent(cqrs.DomainEvent, frozen=True):
    order_id: int


class OrderShipped(OrderEvent, frozen=True):
    pass


class UserJoinedHandler(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


class OrderShippedHandler(cqrs.EventHandler[OrderShipped]):
    async def handle(self, event: OrderShipped) -> None:
        pass


class Ping(cqrs.Request[None]):
    pass


class PingHandler(cqrs.RequestHandler[Ping, None]):
    async def handle(self, request: Ping) -> None:
        pass


def mapper(m: cqrs.EventMap) -> None:
    m.bind(UserLeft, UserJoinedHandler)  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(OrderEvent, OrderShippedHandler)  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(UserJoined, PingHandler)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(UserJoined, object)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(Ping, UserJoinedHandler)  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]
