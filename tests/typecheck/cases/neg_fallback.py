"""Negative: fallback pairs whose handlers disagree, or that are bound to the wrong message."""

from collections.abc import AsyncIterator

import cqrs


class UserDTO(cqrs.Response):
    name: str


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class FindUser(cqrs.Request[UserDTO]):
    query: str


class FromDatabase(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="db")


class FromCache(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="cache")


class SearchUsers(cqrs.RequestHandler[FindUser, UserDTO]):
    async def handle(self, request: FindUser) -> UserDTO:
        return UserDTO(name=request.query)


class OrderForUser(cqrs.RequestHandler[GetUser, OrderDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:
        return OrderDTO(order_id=request.user_id)


class StreamUsers(cqrs.StreamingRequestHandler[GetUser, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: GetUser) -> AsyncIterator[UserDTO]:
        yield UserDTO(name="streamed")


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class UserLeft(cqrs.DomainEvent, frozen=True):
    user_id: int


class Notify(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


class Enqueue(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


class Farewell(cqrs.EventHandler[UserLeft]):
    async def handle(self, event: UserLeft) -> None:
        pass


class NotABreaker:
    def call(self) -> None:
        pass


def commands(mapper: cqrs.RequestMap) -> None:
    # The fallback handles another request than the primary (mypy reports it at the
    # bind, where the pair meets the request; pyright already at the construction).
    mapper.bind(GetUser, cqrs.RequestHandlerFallback(FromDatabase, SearchUsers))  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A good pair bound to a request neither handler handles.
    mapper.bind(FindUser, cqrs.RequestHandlerFallback(FromDatabase, FromCache))  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


def constructions() -> None:
    # The fallback returns another response type.
    cqrs.RequestHandlerFallback(FromDatabase, OrderForUser)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A plain handler paired with a streaming one.
    cqrs.RequestHandlerFallback(FromDatabase, StreamUsers)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # Something that is not a handler class.
    cqrs.RequestHandlerFallback(FromDatabase, UserDTO)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # Only Exception subclasses can trigger a fallback.
    cqrs.RequestHandlerFallback(FromDatabase, FromCache, (KeyboardInterrupt,))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A circuit breaker must implement ICircuitBreaker.
    cqrs.RequestHandlerFallback(FromDatabase, FromCache, circuit_breaker=NotABreaker())  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


def events(mapper: cqrs.EventMap) -> None:
    # A good pair bound to an event neither handler handles.
    mapper.bind(UserLeft, cqrs.EventHandlerFallback(Notify, Enqueue))  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # Handlers of different events (mypy reports it at the bind, pyright at the pair).
    mapper.bind(UserJoined, cqrs.EventHandlerFallback(Notify, Farewell))  # type: ignore[misc]  # pyright: ignore[reportArgumentType]
