"""Negative (issue 9): a parameterized generic handler keeps the pairing checks."""

from typing import Any, Generic, TypeVar

import cqrs

R = TypeVar("R", bound=cqrs.IRequest[Any])
T = TypeVar("T")
E = TypeVar("E", bound=cqrs.IEvent)


class UserDTO(cqrs.Response):
    user_id: int


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class UserSeen(cqrs.DomainEvent):
    user_id: int


class OrderSeen(cqrs.DomainEvent):
    order_id: int


class Forwarding(cqrs.RequestHandler[R, T], Generic[R, T]):
    def __init__(self, answer: T) -> None:
        self.answer = answer

    async def handle(self, request: R) -> T:
        return self.answer


class Audit(cqrs.EventHandler[E], Generic[E]):
    async def handle(self, event: E) -> None:
        print(event)


def requests(mapper: cqrs.RequestMap) -> None:
    mapper.bind(GetUser, Forwarding[GetUser, OrderDTO])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    mapper.bind(GetUser, Forwarding[GetOrder, UserDTO])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserSeen, Audit[OrderSeen])  # type: ignore[misc]  # pyright: ignore[reportArgumentType, reportCallIssue]


async def broad(mediator: cqrs.RequestMediator, request: cqrs.IRequest[cqrs.Response]) -> None:
    # A covariant response widens, never narrows.
    user: UserDTO = await mediator.send(GetOrder(order_id=1))  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    narrowed: UserDTO = await mediator.send(request)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    print(user, narrowed)
