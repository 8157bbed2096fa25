"""Negative (issue 9): `bind` with keywords keeps its pairing checks."""

import cqrs


class UserDTO(cqrs.Response):
    user_id: int


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class OrderPlaced(cqrs.DomainEvent, frozen=True):
    order_id: int


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class GetOrderHandler(cqrs.RequestHandler[GetUser, OrderDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:
        return OrderDTO(order_id=1)


class OrderPlacedHandler(cqrs.EventHandler[OrderPlaced]):
    async def handle(self, event: OrderPlaced) -> None:
        pass


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(request_type=GetUser, handler_type=GetOrderHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(request=GetUser, handler=GetOrderHandler)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(event_type=UserJoined, handler_type=OrderPlacedHandler)  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]
