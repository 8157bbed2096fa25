"""Positive: `await container.resolve(Foo)` is `Foo`; custom containers fit the protocol."""

from typing import Any, TypeVar

import di
from typing_extensions import assert_type

import cqrs
from cqrs.container.di import DIContainer
from cqrs.container.protocol import Container, Release, ScopedResolver
from cqrs.requests import bootstrap

T = TypeVar("T")


class Foo:
    def greet(self) -> str:
        return "hi"


class Repository:
    pass


async def main() -> None:
    container = cqrs.DIContainer()
    assert_type(await container.resolve(Foo), Foo)
    assert_type((await container.resolve(Foo)).greet(), str)
    assert_type(container.external_container, di.Container)
    container.attach_external_container(di.Container())

    wrapped = DIContainer(di.Container())
    assert_type(await wrapped.resolve(Repository), Repository)

    scoped: ScopedResolver = wrapped
    repository, release = await scoped.resolve_scoped(Repository)
    assert_type(repository, Repository)
    assert_type(release, Release | None)
    if release is not None:
        await release(None)

    await through_protocol(wrapped, wrapped)


async def through_protocol(typed: Container[di.Container], bare: cqrs.Container) -> None:
    assert_type(await typed.resolve(Foo), Foo)
    assert_type(typed.external_container, di.Container)
    assert_type(await bare.resolve(Foo), Foo)
    assert_type(bare.external_container, Any)  # the protocol's default: Container[Any]


async def generic_resolve(container: cqrs.Container, type_: type[T]) -> T:
    return await container.resolve(type_)


class DictContainer:
    """Any object with the protocol's members works, no inheritance needed."""

    def __init__(self) -> None:
        self._instances: dict[type[Any], object] = {}

    @property
    def external_container(self) -> dict[type[Any], object]:
        return self._instances

    def attach_external_container(self, container: dict[type[Any], object], /) -> None:
        self._instances = container

    async def resolve(self, type_: type[T], /) -> T:
        return type_()


def takes_container(container: cqrs.Container[dict[type[Any], object]]) -> None:
    assert_type(container.external_container, dict[type[Any], object])


def custom_container() -> None:
    takes_container(DictContainer())
    mediator = bootstrap.bootstrap(di_container=DictContainer())
    assert_type(mediator, cqrs.RequestMediator)
