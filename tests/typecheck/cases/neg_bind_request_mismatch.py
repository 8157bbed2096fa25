"""Negative: a handler bound to a request it does not handle."""

import dataclasses

import cqrs


class UserDTO(cqrs.Response):
    name: str


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class GetOrderHandler(cqrs.RequestHandler[GetOrder, OrderDTO]):
    async def handle(self, request: GetOrder) -> OrderDTO:
        return OrderDTO(order_id=request.order_id)


# Another request that declares the same response type as GetUser.
class GetManager(cqrs.Request[UserDTO]):
    team_id: int


class CreateUser(cqrs.Request[None]):
    name: str


class DeleteUser(cqrs.Request[None]):
    user_id: int


class CreateUserHandler(cqrs.RequestHandler[CreateUser, None]):
    async def handle(self, request: CreateUser) -> None:
        pass


# Bare python-cqrs requests (response type Any): the request type is still checked.
class Ping(cqrs.Request):
    pass


class Pong(cqrs.Request):
    pass


class PingHandler(cqrs.RequestHandler[Ping, str]):
    async def handle(self, request: Ping) -> str:
        return "pong"


@dataclasses.dataclass
class DCGetUser(cqrs.DCRequest[UserDTO]):
    user_id: int


# A handler for a *subclass* cannot take the base request.
class GetUserById(GetUser):
    pass


class GetUserByIdHandler(cqrs.RequestHandler[GetUserById, UserDTO]):
    async def handle(self, request: GetUserById) -> UserDTO:
        return UserDTO(name="Ada")


def mapper(m: cqrs.RequestMap) -> None:
    m.bind(GetOrder, GetUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, GetOrderHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetManager, GetUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(DeleteUser, CreateUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(Pong, PingHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(DCGetUser, GetUserHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    m.bind(GetUser, GetUserByIdHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
