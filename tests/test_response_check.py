"""`send` checks a handler's response against the class its request declares.

Code that is not type-checked can return `None`, `42` or a dict for a
`Request[UserDTO]`; the caller would get it as a `UserDTO`. A cheap `isinstance` on
the declared class (when it is a plain class) stops it with a `ResponseTypeError`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import di
import pytest
from di import bind_by_type
from di.dependent import Dependent

import cqrs
from cqrs.exceptions import ResponseTypeError
from cqrs.requests import bootstrap


class UserDTO(cqrs.Response):
    user_id: int


class AdminDTO(UserDTO):
    pass


class GetUser(cqrs.Request[UserDTO]):
    returns: Any = None


class Delete(cqrs.Request[None]):
    returns: Any = None


class Count(cqrs.Request[int]):
    returns: Any = None


class Maybe(cqrs.Request[int | None]):
    returns: Any = None


class Listing(cqrs.Request[list[int]]):
    returns: Any = None


class Anything(cqrs.Request[Any]):
    returns: Any = None


class Happened(cqrs.DomainEvent, frozen=True):
    pass


SEEN: list[str] = []


class Returns:
    """A handler body returning whatever the request carries, raising one event."""

    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = [Happened()]

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Any) -> Any:
        return request.returns


class GetUserHandler(Returns, cqrs.RequestHandler[GetUser, UserDTO]):
    def __init__(self, resource: str) -> None:
        super().__init__()
        self.resource = resource


class DeleteHandler(Returns, cqrs.RequestHandler[Delete, None]):
    pass


class CountHandler(Returns, cqrs.RequestHandler[Count, int]):
    pass


class MaybeHandler(Returns, cqrs.RequestHandler[Maybe, int | None]):
    pass


class ListingHandler(Returns, cqrs.RequestHandler[Listing, list[int]]):
    pass


class AnythingHandler(Returns, cqrs.RequestHandler[Anything, Any]):
    pass


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        SEEN.append("event")


async def resource() -> AsyncIterator[str]:
    try:
        yield "resource"
    except Exception as error:
        SEEN.append(f"scope saw {type(error).__name__}")
        raise
    SEEN.append("scope closed cleanly")


def mediator() -> cqrs.RequestMediator:
    container = di.Container()
    container.bind(bind_by_type(Dependent(resource, scope="request"), str))

    def requests(mapper: cqrs.RequestMap) -> None:
        mapper.bind(GetUser, GetUserHandler)
        mapper.bind(Delete, DeleteHandler)
        mapper.bind(Count, CountHandler)
        mapper.bind(Maybe, MaybeHandler)
        mapper.bind(Listing, ListingHandler)
        mapper.bind(Anything, AnythingHandler)

    return bootstrap.bootstrap(
        di_container=container,
        commands_mapper=requests,
        domain_events_mapper=lambda mapper: mapper.bind(Happened, HappenedHandler),
    )


@pytest.fixture(autouse=True)
def _reset() -> None:
    SEEN.clear()


@pytest.mark.parametrize("wrong", [None, 42, {"user_id": 1}, "UserDTO"])
async def test_a_wrong_response_is_refused_and_the_scope_sees_it(wrong: object) -> None:
    with pytest.raises(ResponseTypeError) as raised:
        await mediator().send(GetUser(returns=wrong))

    text = str(raised.value)
    assert f"GetUserHandler returned {wrong!r}" in text
    assert "for GetUser, which declares the response UserDTO" in text
    assert SEEN == ["scope saw ResponseTypeError"]  # and the events were not processed


async def test_the_declared_class_or_a_subclass_passes() -> None:
    user = await mediator().send(GetUser(returns=AdminDTO(user_id=1)))
    assert isinstance(user, AdminDTO)
    assert SEEN == ["scope closed cleanly", "event"]


async def test_a_command_declaring_none_must_return_none() -> None:
    assert await mediator().send(Delete()) is None
    with pytest.raises(ResponseTypeError, match="declares the response None; return a None"):
        await mediator().send(Delete(returns=5))


@pytest.mark.parametrize(
    "request_",
    [Count(returns=3), Maybe(returns=None), Maybe(returns=3)],
    ids=["int", "optional-none", "optional-int"],
)
async def test_plain_classes_are_checked_and_unions_pass_when_right(request_: Any) -> None:
    assert await mediator().send(request_) == request_.returns


@pytest.mark.parametrize(
    "request_",
    [Maybe(returns="not checked"), Listing(returns="not checked"), Anything(returns=object())],
    ids=["union", "generic-alias", "any"],
)
async def test_unions_generic_aliases_and_any_are_not_checked(request_: Any) -> None:
    assert await mediator().send(request_) is request_.returns


async def test_bool_is_an_int_as_isinstance_says() -> None:
    assert await mediator().send(Count(returns=True)) is True


def test_the_map_lists_what_it_checks() -> None:
    classes = mediator().request_map.response_classes
    assert classes == {GetUser: UserDTO, Delete: type(None), Count: int}
