"""Positive: fallbacks keep the request and response types of the handlers they pair."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import ParamSpec, TypeVar

import di
from typing_extensions import assert_type

import cqrs
from cqrs.adapters.circuit_breaker import AioBreakerAdapter, PurgatoryCircuitBreaker
from cqrs.circuit_breaker import CircuitIdentifier, ICircuitBreaker
from cqrs.requests import bootstrap

_P = ParamSpec("_P")
_T = TypeVar("_T")


class UserDTO(cqrs.Response):
    name: str


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetAdmin(GetUser):
    pass


class FromDatabase(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name=f"user {request.user_id}")


class FromCache(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="cached")


class Row(cqrs.Response):
    n: int


class Export(cqrs.Request[Row]):
    rows: int


class LiveRows(cqrs.StreamingRequestHandler[Export, Row]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[Row]:
        for n in range(request.rows):
            yield Row(n=n)


class ArchivedRows(cqrs.StreamingRequestHandler[Export, Row]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[Row]:
        yield Row(n=0)


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class Notify(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


class Enqueue(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


class CountingBreaker:
    """Any object with the two methods is an `ICircuitBreaker`."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(
        self,
        identifier: CircuitIdentifier,
        func: Callable[_P, Awaitable[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        self.calls += 1
        return await func(*args, **kwargs)

    def is_circuit_breaker_error(self, exc: BaseException, /) -> bool:
        return False


breaker: ICircuitBreaker = CountingBreaker()
shipped: ICircuitBreaker = PurgatoryCircuitBreaker(fail_max=3, timeout_duration=10)
compatible: ICircuitBreaker = AioBreakerAdapter(fail_max=5, timeout_duration=60)

users = cqrs.RequestHandlerFallback(FromDatabase, FromCache)
assert_type(users, cqrs.RequestHandlerFallback[GetUser, UserDTO])

guarded = cqrs.RequestHandlerFallback(
    primary=FromDatabase,
    fallback=FromCache,
    failure_exceptions=(ConnectionError, TimeoutError),
    circuit_breaker=breaker,
)
assert_type(guarded.failure_exceptions, tuple[type[Exception], ...])
assert_type(guarded.circuit_breaker, ICircuitBreaker | None)

rows = cqrs.RequestHandlerFallback(LiveRows, ArchivedRows, (ConnectionError,))
assert_type(rows, cqrs.RequestHandlerFallback[Export, Row])

joined = cqrs.EventHandlerFallback(Notify, Enqueue, circuit_breaker=CountingBreaker())
assert_type(joined, cqrs.EventHandlerFallback[UserJoined])


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUser, users)
    # A handler pair for a base request serves a subclass request too.
    mapper.bind(GetAdmin, cqrs.RequestHandlerFallback(FromDatabase, FromCache))


def streams(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Export, rows)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserJoined, joined)
    mapper.bind(UserJoined, Notify)


async def main() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
    )
    assert_type(await mediator.send(GetUser(user_id=1)), UserDTO)
    streaming = bootstrap.bootstrap_streaming(di_container=di.Container(), commands_mapper=streams)
    async for row in streaming.stream(Export(rows=3)):
        assert_type(row, Row)
