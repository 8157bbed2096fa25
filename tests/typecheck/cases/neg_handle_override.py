"""Negative: `handle` overrides with the wrong parameter or return type."""

from collections.abc import AsyncIterator

import cqrs


class UserDTO(cqrs.Response):
    name: str


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class UserLeft(cqrs.DomainEvent, frozen=True):
    user_id: int


class WrongParameter(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetOrder) -> UserDTO:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return UserDTO(name="Ada")


class WrongReturn(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return OrderDTO(order_id=1)


class NotAsync(cqrs.RequestHandler[GetUser, UserDTO]):
    def handle(self, request: GetUser) -> UserDTO:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return UserDTO(name="Ada")


class StreamingWrongParameter(cqrs.StreamingRequestHandler[GetUser, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: GetOrder) -> AsyncIterator[UserDTO]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        yield UserDTO(name="Ada")


class StreamingWrongItem(cqrs.StreamingRequestHandler[GetUser, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: GetUser) -> AsyncIterator[OrderDTO]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        yield OrderDTO(order_id=1)


class EventWrongParameter(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserLeft) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        pass


class EventsWrongType(cqrs.RequestHandler[GetUser, UserDTO]):
    @property
    def events(self) -> list[UserDTO]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return []

    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")
