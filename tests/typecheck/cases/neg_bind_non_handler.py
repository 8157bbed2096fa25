"""Negative: `RequestMap.bind` with something that is not a handler class, or not a request."""

import cqrs


class UserDTO(cqrs.Response):
    name: str


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class LooksLikeAHandler:  # duck-typed, but not a RequestHandler
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


class UserJoinedHandler(cqrs.EventHandler[UserJoined]):
    async def handle(self, event: UserJoined) -> None:
        pass


async def get_user(request: GetUser) -> UserDTO:
    return UserDTO(name="Ada")


def mapper(m: cqrs.RequestMap) -> None:
    m.bind(GetUser, LooksLikeAHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, int)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, UserJoinedHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, GetUserHandler())  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, get_user)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(UserDTO, GetUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
