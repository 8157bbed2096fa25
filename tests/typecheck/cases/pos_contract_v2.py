"""Positive (issue 9): closing a stream, and `bind` with python-cqrs's keywords."""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

import di
from typing_extensions import assert_type

import cqrs
from cqrs.requests import bootstrap


class UserDTO(cqrs.Response):
    user_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class ListUsers(cqrs.Request[UserDTO]):
    pass


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(user_id=request.user_id)


class ListUsersHandler(cqrs.StreamingRequestHandler[ListUsers, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListUsers) -> AsyncIterator[UserDTO]:
        yield UserDTO(user_id=1)


class UserJoinedHandler(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


def requests(mapper: cqrs.RequestMap) -> None:
    # The keywords python-cqrs code passes.
    mapper.bind(request_type=GetUser, handler_type=GetUserHandler)
    mapper.bind(ListUsers, handler_type=ListUsersHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(event_type=UserJoined, handler_type=UserJoinedHandler)


async def main() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(), queries_mapper=requests, domain_events_mapper=events
    )
    stream = mediator.stream(ListUsers())
    assert_type(stream, AsyncGenerator[UserDTO, None])
    async for user in stream:
        assert_type(user, UserDTO)
        break
    await stream.aclose()  # stop early, as the README says

    async with contextlib.aclosing(mediator.stream(ListUsers())) as users:
        async for user in users:
            assert_type(user, UserDTO)

    # Still an async iterator where one is expected.
    iterator: AsyncIterator[UserDTO] = mediator.stream(ListUsers())
    await anext(iterator)
