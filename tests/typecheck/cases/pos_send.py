"""Positive: `send` is typed from the response type the request declares."""

import dataclasses
from typing import Any

import di
from typing_extensions import assert_type

import cqrs
from cqrs.requests import bootstrap


class UserDTO(cqrs.Response):
    user_id: int
    name: str


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(user_id=request.user_id, name="Ada")


class Ping(cqrs.Request):  # the bare python-cqrs form: the response type is Any
    pass


class PingHandler(cqrs.RequestHandler[Ping, str]):
    async def handle(self, request: Ping) -> str:
        return "pong"


@dataclasses.dataclass
class DCUserDTO(cqrs.DCResponse):
    user_id: int


@dataclasses.dataclass
class DCGetUser(cqrs.DCRequest[DCUserDTO]):
    user_id: int


class DCGetUserHandler(cqrs.RequestHandler[DCGetUser, DCUserDTO]):
    async def handle(self, request: DCGetUser) -> DCUserDTO:
        return DCUserDTO(user_id=request.user_id)


@dataclasses.dataclass
class DCPing(cqrs.DCRequest):
    pass


class DeleteUser(cqrs.Request[None]):  # a command that returns nothing
    user_id: int


class DeleteUserHandler(cqrs.RequestHandler[DeleteUser, None]):
    async def handle(self, request: DeleteUser) -> None:
        return None


class FindUser(cqrs.Request[UserDTO | None]):
    name: str


class FindUserHandler(cqrs.RequestHandler[FindUser, UserDTO | None]):
    async def handle(self, request: FindUser) -> UserDTO | None:
        return None


def queries_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUser, GetUserHandler)
    mapper.bind(Ping, PingHandler)
    mapper.bind(DCGetUser, DCGetUserHandler)
    mapper.bind(FindUser, FindUserHandler)


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(DeleteUser, DeleteUserHandler)


async def main() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        queries_mapper=queries_mapper,
        commands_mapper=commands_mapper,
    )
    assert_type(await mediator.send(GetUser(user_id=1)), UserDTO)
    assert_type(await mediator.send(Ping()), Any)
    assert_type(await mediator.send(DCGetUser(user_id=1)), DCUserDTO)
    assert_type(await mediator.send(DCPing()), Any)
    assert_type(await mediator.send(DeleteUser(user_id=1)), None)
    assert_type(await mediator.send(FindUser(name="Ada")), UserDTO | None)

    user = await mediator.send(GetUser(user_id=1))
    assert_type(user.name, str)


async def send_any_request(
    mediator: cqrs.RequestMediator, request: cqrs.IRequest[UserDTO]
) -> None:
    # Typed through the interface too, not only through concrete request classes.
    assert_type(await mediator.send(request), UserDTO)
