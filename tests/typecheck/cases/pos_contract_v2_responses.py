"""Positive (issue 9): a result where a supertype is expected, unions of requests,
parameterized generic handlers, and `self.events` assigned in `__init__`."""

from collections.abc import AsyncIterator, Sequence
from typing import Any, Generic, TypeVar

from typing_extensions import assert_type

import cqrs

R = TypeVar("R", bound=cqrs.IRequest[Any])
T = TypeVar("T")
E = TypeVar("E", bound=cqrs.IEvent)


class UserDTO(cqrs.Response):
    user_id: int


class AdminDTO(UserDTO):
    level: int


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class ListUsers(cqrs.Request[UserDTO]):
    pass


class UserSeen(cqrs.DomainEvent):
    user_id: int


def show(response: cqrs.Response) -> None:
    print(response)


def describe(request: cqrs.IRequest[cqrs.Response]) -> str:
    return type(request).__name__


async def supertypes(
    mediator: cqrs.RequestMediator, streaming: cqrs.StreamingRequestMediator
) -> None:
    response: cqrs.Response = await mediator.send(GetUser(user_id=1))
    show(await mediator.send(GetUser(user_id=1)))
    print(await mediator.send(GetUser(user_id=1)))
    responses: list[cqrs.Response] = [await mediator.send(GetUser(user_id=1))]
    describe(GetUser(user_id=1))
    request: cqrs.IRequest[cqrs.Response] = GetOrder(order_id=2)
    items: AsyncIterator[cqrs.Response] = streaming.stream(ListUsers())
    print(response, responses, request, items)


async def widened(
    mediator: cqrs.RequestMediator,
    streaming: cqrs.StreamingRequestMediator,
    request: cqrs.IRequest[cqrs.Response],
) -> None:
    assert_type(await mediator.send(request), cqrs.Response)
    async for item in streaming.stream(request):
        assert_type(item, cqrs.Response)


async def unions(mediator: cqrs.RequestMediator, request: GetUser | GetOrder) -> None:
    # pyright infers the union itself; mypy joins the two (their base, cqrs.Response)
    # unless told the union, as here.
    result: UserDTO | OrderDTO = await mediator.send(request)
    if isinstance(result, UserDTO):
        assert_type(result, UserDTO)
    show(await mediator.send(request))


class Forwarding(cqrs.RequestHandler[R, T], Generic[R, T]):
    """One generic handler, parameterized per request."""

    def __init__(self, answer: T) -> None:
        self.answer = answer

    async def handle(self, request: R) -> T:
        return self.answer


class Audit(cqrs.EventHandler[E], Generic[E]):
    async def handle(self, event: E) -> None:
        print(event)


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    def __init__(self) -> None:
        # python-cqrs's spelling: an attribute over the base's read-only property.
        self.events: list[cqrs.IEvent] = []

    async def handle(self, request: GetUser) -> AdminDTO:
        self.events.append(UserSeen(user_id=request.user_id))
        return AdminDTO(user_id=request.user_id, level=1)


def generic_handlers(requests: cqrs.RequestMap, events: cqrs.EventMap) -> None:
    requests.bind(GetUser, Forwarding[GetUser, UserDTO])
    requests.bind(GetOrder, Forwarding[GetOrder, OrderDTO])
    events.bind(UserSeen, Audit[UserSeen])


def assigned_events(requests: cqrs.RequestMap, base: cqrs.RequestHandler[GetUser, UserDTO]) -> None:
    requests.bind(GetUser, GetUserHandler)
    assert_type(GetUserHandler().events, list[cqrs.IEvent])
    assert_type(base.events, Sequence[cqrs.IEvent])
