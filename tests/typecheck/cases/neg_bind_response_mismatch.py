"""Negative: a handler whose result is not the response the request declares."""

import dataclasses

import cqrs


class UserDTO(cqrs.Response):
    name: str


class AdminDTO(UserDTO):
    level: int


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetUserOrdersHandler(cqrs.RequestHandler[GetUser, OrderDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:
        return OrderDTO(order_id=1)


class GetUserMaybeHandler(cqrs.RequestHandler[GetUser, UserDTO | None]):
    async def handle(self, request: GetUser) -> UserDTO | None:
        return None


class GetAdmin(cqrs.Request[AdminDTO]):
    user_id: int


# Returns a UserDTO where the request promises an AdminDTO (a supertype: too wide).
class GetAdminAsUserHandler(cqrs.RequestHandler[GetAdmin, UserDTO]):
    async def handle(self, request: GetAdmin) -> UserDTO:
        return UserDTO(name="not an admin")


class DeleteUser(cqrs.Request[None]):
    user_id: int


class DeleteUserReturningHandler(cqrs.RequestHandler[DeleteUser, UserDTO]):
    async def handle(self, request: DeleteUser) -> UserDTO:
        return UserDTO(name="deleted")


@dataclasses.dataclass
class DCGetUser(cqrs.DCRequest[UserDTO]):
    user_id: int


class DCGetUserHandler(cqrs.RequestHandler[DCGetUser, OrderDTO]):
    async def handle(self, request: DCGetUser) -> OrderDTO:
        return OrderDTO(order_id=1)


class Count(cqrs.Request[int]):
    pass


class CountHandler(cqrs.RequestHandler[Count, str]):
    async def handle(self, request: Count) -> str:
        return "1"


def mapper(m: cqrs.RequestMap) -> None:
    m.bind(GetUser, GetUserOrdersHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, GetUserMaybeHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetAdmin, GetAdminAsUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(DeleteUser, DeleteUserReturningHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(DCGetUser, DCGetUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(Count, CountHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
