"""Positive: a handler for a base type binds to a subtype (requests, streams, events),
and a handler may return a subtype of the declared response."""

from collections.abc import AsyncIterator

import di
from typing_extensions import assert_type

import cqrs
from cqrs.requests import bootstrap


class UserDTO(cqrs.Response):
    name: str


class AdminDTO(UserDTO):
    level: int


class GetUserBase(cqrs.Request[UserDTO]):
    user_id: int


class GetUserById(GetUserBase):  # inherits the declared response: UserDTO
    pass


class GetUserByEmail(GetUserBase):
    email: str


class BaseHandler(cqrs.RequestHandler[GetUserBase, UserDTO]):
    async def handle(self, request: GetUserBase) -> UserDTO:
        return UserDTO(name=str(request.user_id))


class GetAdmin(cqrs.Request[UserDTO]):
    user_id: int


# The handler declares a narrower result than the request promises: still a UserDTO.
class GetAdminHandler(cqrs.RequestHandler[GetAdmin, AdminDTO]):
    async def handle(self, request: GetAdmin) -> AdminDTO:
        return AdminDTO(name="root", level=9)


# `handle` may return a subtype of the declared result (covariant return) ...
class NarrowReturnHandler(cqrs.RequestHandler[GetUserById, UserDTO]):
    async def handle(self, request: GetUserById) -> AdminDTO:
        return AdminDTO(name="root", level=1)


# ... and accept a supertype of the declared request (contravariant parameter).
class WideParameterHandler(cqrs.RequestHandler[GetUserByEmail, UserDTO]):
    async def handle(self, request: GetUserBase) -> UserDTO:
        return UserDTO(name="wide")


class Export(cqrs.Request[UserDTO]):
    pass


class ExportAll(Export):
    pass


class ExportHandler(cqrs.StreamingRequestHandler[Export, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[UserDTO]:
        yield UserDTO(name="x")


class UserEvent(cqrs.DomainEvent, frozen=True):
    user_id: int


class UserJoined(UserEvent, frozen=True):
    pass


class AnyUserEventHandler(cqrs.EventHandler[UserEvent]):
    async def handle(self, event: UserEvent) -> None:
        pass


class AnyEventHandler(cqrs.EventHandler[cqrs.IEvent]):
    async def handle(self, event: cqrs.IEvent) -> None:
        pass


def queries_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUserById, BaseHandler)
    mapper.bind(GetUserBase, BaseHandler)
    mapper.bind(GetAdmin, GetAdminHandler)
    mapper.bind(GetUserByEmail, WideParameterHandler)
    mapper.bind(ExportAll, ExportHandler)


def other_mapper(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUserById, NarrowReturnHandler)


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserJoined, AnyUserEventHandler)
    mapper.bind(UserJoined, AnyEventHandler)
    mapper.bind(UserEvent, AnyUserEventHandler)


async def main() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        queries_mapper=queries_mapper,
        domain_events_mapper=events_mapper,
    )
    assert_type(await mediator.send(GetUserById(user_id=1)), UserDTO)
    assert_type(await mediator.send(GetAdmin(user_id=1)), UserDTO)
    streaming = bootstrap.bootstrap_streaming(
        di_container=di.Container(), commands_mapper=queries_mapper
    )
    async for item in streaming.stream(ExportAll()):
        assert_type(item, UserDTO)
