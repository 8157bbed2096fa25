"""DIContainer: the `Container` protocol over a `di.Container` (SPEC 2.6)."""

from __future__ import annotations

import abc
from collections.abc import Generator
from typing import Any, Protocol, TypeVar

import di
import pytest
from di.dependent import Dependent

import cqrs
from cqrs.container.di import DIContainer
from cqrs.exceptions import DependencyResolutionError
from cqrs.requests import bootstrap

_T = TypeVar("_T")


# --- dependencies -------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> int: ...


class FixedClock:
    def now(self) -> int:
        return 42


class OtherClock:
    def now(self) -> int:
        return 7


class Repository(abc.ABC):
    @abc.abstractmethod
    def get(self, key: str) -> str: ...


class MemoryRepository(Repository):
    def get(self, key: str) -> str:
        return f"value of {key}"


class Settings:
    def __init__(self) -> None:
        self.debug = True


class Foo:
    pass


class NeedsClock:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock


class NeedsRepository:
    def __init__(self, repository: Repository) -> None:
        self.repository = repository


class NeedsUnannotated:
    def __init__(self, unannotated_param) -> None:  # type: ignore[no-untyped-def]  # the point
        self.unannotated_param = unannotated_param


class ThreeDependencies:
    def __init__(self, clock: Clock, repository: Repository, settings: Settings) -> None:
        self.clock = clock
        self.repository = repository
        self.settings = settings


def bound_container(*, clock_scope: str = "singleton", repo_scope: str = "request") -> di.Container:
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(FixedClock, scope=clock_scope), Clock))
    container.bind(di.bind_by_type(Dependent(MemoryRepository, scope=repo_scope), Repository))
    return container


# --- resolving ----------------------------------------------------------------------


async def test_resolve_returns_an_instance_of_the_type() -> None:
    container = DIContainer()

    foo = await container.resolve(Foo)

    assert isinstance(foo, Foo)


async def test_resolve_injects_a_protocol_bound_with_bind_by_type() -> None:
    container = DIContainer(bound_container())

    handler = await container.resolve(NeedsClock)

    assert isinstance(handler.clock, FixedClock)
    assert handler.clock.now() == 42


async def test_resolve_injects_an_abstract_class_bound_with_bind_by_type() -> None:
    container = DIContainer(bound_container())

    handler = await container.resolve(NeedsRepository)

    assert isinstance(handler.repository, MemoryRepository)


async def test_resolve_injects_three_constructor_dependencies() -> None:
    container = DIContainer(bound_container())

    handler = await container.resolve(ThreeDependencies)

    assert isinstance(handler.clock, FixedClock)
    assert isinstance(handler.repository, MemoryRepository)
    assert isinstance(handler.settings, Settings)


async def test_each_resolve_builds_a_fresh_handler() -> None:
    container = DIContainer(bound_container())

    first = await container.resolve(ThreeDependencies)
    second = await container.resolve(ThreeDependencies)

    assert first is not second


async def test_request_scoped_dependencies_are_fresh_per_resolve() -> None:
    container = DIContainer(bound_container(repo_scope="request"))

    first = await container.resolve(ThreeDependencies)
    second = await container.resolve(ThreeDependencies)

    assert first.repository is not second.repository


async def test_singleton_dependencies_are_shared_across_resolves() -> None:
    container = DIContainer(bound_container(clock_scope="singleton"))

    first = await container.resolve(ThreeDependencies)
    second = await container.resolve(NeedsClock)

    assert first.clock is second.clock


async def test_each_type_is_solved_once_and_the_graph_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    original_solve = di.Container.solve

    def counting_solve(self: di.Container, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[0].call if args else kwargs["dependency"].call)
        return original_solve(self, *args, **kwargs)

    monkeypatch.setattr(di.Container, "solve", counting_solve)
    container = DIContainer(bound_container())

    for _ in range(20):
        await container.resolve(ThreeDependencies)
        await container.resolve(Foo)

    assert calls.count(ThreeDependencies) == 1
    assert calls.count(Foo) == 1
    assert len(calls) == 2


async def test_prepared_types_are_not_solved_again_on_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    container = DIContainer(bound_container())
    container.prepare([ThreeDependencies])
    calls: list[object] = []
    original_solve = di.Container.solve

    def counting_solve(self: di.Container, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return original_solve(self, *args, **kwargs)

    monkeypatch.setattr(di.Container, "solve", counting_solve)

    for _ in range(5):
        await container.resolve(ThreeDependencies)

    assert calls == []


async def test_resolving_a_type_bound_as_singleton_returns_the_shared_instance() -> None:
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(FixedClock, scope="singleton"), Clock))
    container = DIContainer(raw)

    injected = (await container.resolve(NeedsClock)).clock
    first = await container.resolve(Clock)  # type: ignore[type-abstract]
    second = await container.resolve(Clock)  # type: ignore[type-abstract]

    assert first is second
    assert first is injected


# --- prepare: wiring errors up front ------------------------------------------------


def test_prepare_accepts_types_whose_dependencies_are_bound() -> None:
    container = DIContainer(bound_container())

    container.prepare([NeedsClock, NeedsRepository, ThreeDependencies, Foo])


def test_prepare_names_handler_and_unbound_protocol() -> None:
    container = DIContainer()

    with pytest.raises(DependencyResolutionError) as exc_info:
        container.prepare([NeedsClock])

    message = str(exc_info.value)
    assert "NeedsClock" in message
    assert "Clock" in message.replace("NeedsClock", "")


def test_prepare_names_handler_and_unbound_abstract_class() -> None:
    container = DIContainer()

    with pytest.raises(DependencyResolutionError) as exc_info:
        container.prepare([NeedsRepository])

    message = str(exc_info.value)
    assert "NeedsRepository" in message
    assert "Repository" in message.replace("NeedsRepository", "")


def test_prepare_names_handler_and_unannotated_parameter() -> None:
    container = DIContainer()

    with pytest.raises(DependencyResolutionError) as exc_info:
        container.prepare([NeedsUnannotated])

    message = str(exc_info.value)
    assert "NeedsUnannotated" in message
    assert "unannotated_param" in message


def test_dependency_resolution_error_is_a_cqrs_error() -> None:
    container = DIContainer()

    with pytest.raises(cqrs.CQRSError):
        container.prepare([NeedsClock])


async def test_resolve_of_an_unbuildable_type_raises_dependency_resolution_error() -> None:
    container = DIContainer()

    with pytest.raises(DependencyResolutionError, match="NeedsRepository"):
        await container.resolve(NeedsRepository)


# --- the external container ---------------------------------------------------------


def test_external_container_is_the_wrapped_di_container() -> None:
    raw = di.Container()

    container = DIContainer(raw)

    assert container.external_container is raw


def test_default_external_container_is_a_di_container() -> None:
    assert isinstance(DIContainer().external_container, di.Container)


def test_attach_external_container_swaps_the_wrapped_container() -> None:
    container = DIContainer(di.Container())
    replacement = di.Container()

    container.attach_external_container(replacement)

    assert container.external_container is replacement


async def test_attach_external_container_drops_solved_graphs() -> None:
    first = di.Container()
    first.bind(di.bind_by_type(Dependent(FixedClock, scope="request"), Clock))
    second = di.Container()
    second.bind(di.bind_by_type(Dependent(OtherClock, scope="request"), Clock))
    container = DIContainer(first)
    assert isinstance((await container.resolve(NeedsClock)).clock, FixedClock)

    container.attach_external_container(second)

    assert isinstance((await container.resolve(NeedsClock)).clock, OtherClock)


async def test_attach_external_container_makes_a_bad_wiring_fixable() -> None:
    container = DIContainer(di.Container())
    with pytest.raises(DependencyResolutionError):
        container.prepare([NeedsClock])

    container.attach_external_container(bound_container())

    container.prepare([NeedsClock])
    assert isinstance((await container.resolve(NeedsClock)).clock, FixedClock)


# --- teardown -----------------------------------------------------------------------


class Connection:
    pass


async def test_aclose_runs_singleton_generator_teardown() -> None:
    log: list[str] = []

    def open_connection() -> Generator[Connection, None, None]:
        log.append("open")
        yield Connection()
        log.append("close")

    class NeedsConnection:
        def __init__(self, connection: Connection) -> None:
            self.connection = connection

    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(open_connection, scope="singleton"), Connection))
    container = DIContainer(raw)

    first = await container.resolve(NeedsConnection)
    second = await container.resolve(NeedsConnection)
    assert first.connection is second.connection
    assert log == ["open"]

    await container.aclose()

    assert log == ["open", "close"]


async def test_aclose_without_any_resolve_is_a_no_op() -> None:
    await DIContainer().aclose()


# --- any object satisfying the protocol ---------------------------------------------


class Ping(cqrs.Request):
    pass


class Pong(cqrs.Response):
    built_by: str


class PingHandler(cqrs.RequestHandler[Ping, Pong]):
    def __init__(self, built_by: str) -> None:
        self.built_by = built_by

    async def handle(self, request: Ping) -> Pong:
        return Pong(built_by=self.built_by)


class DictContainer:
    """A tiny hand-written container: factories in a dict, no `di` at all."""

    def __init__(self, factories: dict[type[Any], Any]) -> None:
        self._factories = factories
        self.resolved: list[type[Any]] = []

    @property
    def external_container(self) -> dict[type[Any], Any]:
        return self._factories

    def attach_external_container(self, container: dict[type[Any], Any], /) -> None:
        self._factories = container

    async def resolve(self, type_: type[_T], /) -> _T:
        self.resolved.append(type_)
        instance: _T = self._factories[type_]()
        return instance


async def test_a_custom_container_can_be_passed_to_bootstrap() -> None:
    custom = DictContainer({PingHandler: lambda: PingHandler(built_by="custom")})

    def commands_mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Ping, PingHandler)

    mediator = bootstrap.bootstrap(di_container=custom, commands_mapper=commands_mapper)
    response = await mediator.send(Ping())

    assert response.built_by == "custom"
    assert custom.resolved == [PingHandler]


def test_a_custom_container_satisfies_the_container_protocol() -> None:
    custom = DictContainer({})

    container: cqrs.Container[dict[type[Any], Any]] = custom

    assert container.external_container == {}
