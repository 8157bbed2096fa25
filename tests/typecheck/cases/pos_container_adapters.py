"""Positive: the dependency-injector and dishka adapters are scoped `Container`s bootstrap takes."""

from dependency_injector import containers, providers
from dishka import AsyncContainer, Scope, make_async_container
from typing_extensions import assert_type

import cqrs
from cqrs.container.dependency_injector import DependencyInjectorCQRSContainer
from cqrs.container.dishka import DishkaContainer, DishkaCQRSContainer
from cqrs.container.protocol import Container, Release, ScopedResolver
from cqrs.requests import bootstrap


class Foo:
    pass


class Services(containers.DeclarativeContainer):
    foo = providers.Factory(Foo)


class RequestResource(providers.Resource[Foo]):
    pass


async def main() -> None:
    injector = DependencyInjectorCQRSContainer(Services(), request_scoped=(RequestResource,))
    attached = DependencyInjectorCQRSContainer()
    attached.attach_external_container(Services())
    assert_type(attached.external_container, containers.Container)
    assert_type(await injector.resolve(Foo), Foo)
    assert_type(await injector.resolve_scoped(Foo), tuple[Foo, Release | None])

    dishka = DishkaContainer(make_async_container(), scope=Scope.ACTION)
    assert_type(dishka.external_container, AsyncContainer)
    assert_type(await dishka.resolve(Foo), Foo)
    assert_type(await dishka.resolve_scoped(Foo), tuple[Foo, Release])

    protocol_di: Container[containers.Container] = injector
    protocol_dishka: Container[AsyncContainer] = DishkaCQRSContainer()
    scoped: list[ScopedResolver] = [injector, dishka]
    del protocol_di, protocol_dishka, scoped

    assert_type(bootstrap.bootstrap(di_container=injector), cqrs.RequestMediator)
    assert_type(bootstrap.bootstrap_streaming(di_container=dishka), cqrs.StreamingRequestMediator)
