"""Positive (issue 9, item 5): resolving an interface (an ABC or a protocol) bound in di."""

import abc
from typing import Protocol

from typing_extensions import assert_type

import cqrs


class UsersRepository(abc.ABC):
    @abc.abstractmethod
    async def name_of(self, user_id: int) -> str: ...


class Clock(Protocol):
    def now(self) -> float: ...


class Concrete:
    pass


async def main(container: cqrs.DIContainer) -> None:
    assert_type(await container.resolve(UsersRepository), UsersRepository)
    assert_type(await container.resolve(Clock), Clock)
    assert_type(await container.resolve(Concrete), Concrete)
