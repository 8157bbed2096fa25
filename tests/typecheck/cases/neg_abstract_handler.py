"""Negative (issue 9): an abstract handler, or a class that only looks like a handler,
is rejected by `bind` (mypy: `[type-abstract]` where it can say so)."""

from collections.abc import AsyncIterator

import cqrs


class UserDTO(cqrs.Response):
    user_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class ListUsers(cqrs.Request[UserDTO]):
    pass


class NoHandle(cqrs.RequestHandler[GetUser, UserDTO]):
    pass


class NoClearEvents(cqrs.StreamingRequestHandler[ListUsers, UserDTO]):
    async def handle(self, request: ListUsers) -> AsyncIterator[UserDTO]:
        yield UserDTO(user_id=1)


class LooksLikeAHandler:
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(user_id=request.user_id)


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUser, NoHandle)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(ListUsers, NoClearEvents)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(GetUser, LooksLikeAHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(request_type=GetUser, handler_type=NoHandle)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
