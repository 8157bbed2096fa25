"""Negative: the result of `send` used as another type."""

import cqrs


class UserDTO(cqrs.Response):
    name: str


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class DeleteUser(cqrs.Request[None]):
    user_id: int


def takes_order(order: OrderDTO) -> None:
    pass


async def main(mediator: cqrs.RequestMediator) -> None:
    order: OrderDTO = await mediator.send(GetUser(user_id=1))  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    print((await mediator.send(GetUser(user_id=1))).order_id)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
    takes_order(await mediator.send(GetUser(user_id=1)))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    user = mediator.send(GetUser(user_id=1))
    print(user.name)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownArgumentType, reportUnknownMemberType]
    deleted: UserDTO = await mediator.send(DeleteUser(user_id=1))  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
    print(order, deleted)
