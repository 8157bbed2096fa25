"""DependencyInjectorCQRSContainer: handlers built by a real dependency-injector container.

The request-scope tests of tests/container_scopes.py run here against a
`ContextLocalResource` session (sync and async). The tests below add what is
dependency-injector's own: handlers built by the container's providers or from their
annotations, singletons shared, resources of other kinds, and wiring mistakes as clear
`DependencyResolutionError`s.
"""

from __future__ import annotations

import abc
import importlib
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from dependency_injector import containers, providers
from tests.container_scopes import *  # noqa: F403
from tests.container_scopes import (
    LOG,
    Engine,
    Save,
    Saved,
    SavedEvent,
    SaveHandler,
    Session,
    SqlUsers,
    Users,
    cancel_a_stream_after_its_first_item,
    commands,
    events,
)

import cqrs
from cqrs.container.dependency_injector import DependencyInjectorCQRSContainer
from cqrs.container.protocol import ScopedResolver
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.requests import bootstrap


@pytest.fixture(autouse=True)
def log() -> list[str]:
    LOG.clear()
    return LOG


# --- the application's services -------------------------------------------------------


def open_session(engine: Engine) -> Iterator[Session]:
    session = Session(engine)
    LOG.append(f"open {session.number}")
    try:
        yield session
    except Exception as error:
        LOG.append(f"rollback {session.number} {type(error).__name__}")
        raise
    else:
        LOG.append(f"commit {session.number}")
    finally:
        session.open = False
        LOG.append(f"close {session.number}")


async def open_async_session(engine: Engine) -> AsyncIterator[Session]:
    session = Session(engine)
    LOG.append(f"open {session.number}")
    try:
        yield session
    except Exception as error:
        LOG.append(f"rollback {session.number} {type(error).__name__}")
        raise
    else:
        LOG.append(f"commit {session.number}")
    finally:
        session.open = False
        LOG.append(f"close {session.number}")


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now


class ClockedEventHandler(cqrs.EventHandler[SavedEvent]):
    """Not in the container: built from its constructor's annotations."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    async def handle(self, event: SavedEvent) -> None:
        pass


class Services(containers.DeclarativeContainer):
    engine = providers.Singleton(Engine)
    clock = providers.Object(Clock(now=42))
    session = providers.ContextLocalResource(open_session, engine=engine)
    users = providers.Factory(SqlUsers, session=session)
    save_handler = providers.Factory(SaveHandler, users=users, session=session, engine=engine)


class AsyncServices(Services):
    session = providers.ContextLocalResource(open_async_session, engine=Services.engine)
    users = providers.Factory(SqlUsers, session=session)
    save_handler = providers.Factory(
        SaveHandler, users=users, session=session, engine=Services.engine
    )


@pytest.fixture(params=[Services, AsyncServices], ids=["sync", "async"])
def services(request: pytest.FixtureRequest) -> containers.DeclarativeContainer:
    Session.count = 0
    declared: type[containers.DeclarativeContainer] = request.param
    return declared()


@pytest.fixture
def container(services: containers.DeclarativeContainer) -> DependencyInjectorCQRSContainer:
    return DependencyInjectorCQRSContainer(services)


# --- the protocol and python-cqrs' way of wiring it -----------------------------------


def test_it_is_a_scoped_container_bootstrap_accepts() -> None:
    adapter = DependencyInjectorCQRSContainer(Services())

    assert isinstance(adapter, ScopedResolver)
    mediator = bootstrap.bootstrap(di_container=adapter, commands_mapper=commands)
    assert isinstance(mediator, cqrs.RequestMediator)


async def test_python_cqrs_wiring_attach_after_construction_works() -> None:
    services = Services()
    adapter = DependencyInjectorCQRSContainer()
    adapter.attach_external_container(services)

    mediator = bootstrap.bootstrap(di_container=adapter, commands_mapper=commands)

    assert adapter.external_container is services
    assert (await mediator.send(Save())).name == "user 1"


async def test_using_it_before_a_container_is_attached_says_what_to_do() -> None:
    adapter = DependencyInjectorCQRSContainer()

    with pytest.raises(InvalidConfigurationError, match="attach_external_container"):
        _ = adapter.external_container
    with pytest.raises(InvalidConfigurationError, match="no dependency-injector container"):
        await adapter.resolve(SaveHandler)


def test_importing_without_dependency_injector_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "cqrs.container.dependency_injector")
    monkeypatch.delitem(sys.modules, "cqrs.adapters.dependency_injector")
    monkeypatch.setitem(sys.modules, "dependency_injector", None)  # `import` now fails

    with pytest.raises(ImportError, match=r"pip install \"cqrs-typed\[dependency-injector\]\""):
        importlib.import_module("cqrs.container.dependency_injector")


# --- building handlers -----------------------------------------------------------------


async def test_a_handler_provider_of_the_container_builds_the_handler(
    services: containers.DeclarativeContainer, container: DependencyInjectorCQRSContainer
) -> None:
    handler = await container.resolve(SaveHandler)

    assert isinstance(handler.users, SqlUsers)
    assert handler.engine is services.providers["engine"]()


async def test_a_handler_without_a_provider_gets_its_parameters_by_annotated_type(
    container: DependencyInjectorCQRSContainer,
) -> None:
    handler = await container.resolve(ClockedEventHandler)

    assert handler.clock.now == 42  # providers.Object, found by the type of its value
    assert isinstance(handler.session, Session)  # the resource, by its return annotation


async def test_an_abstract_dependency_is_found_through_the_provider_of_its_subclass() -> None:
    class NeedsUsers:
        def __init__(self, users: Users) -> None:
            self.users = users

    handler = await DependencyInjectorCQRSContainer(Services()).resolve(NeedsUsers)

    assert isinstance(handler.users, SqlUsers)


async def test_providers_of_nested_containers_are_found() -> None:
    class Storage(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        users = providers.Factory(SqlUsers, session=providers.Factory(Session, engine=engine))

    class Application(containers.DeclarativeContainer):
        storage = providers.Container(Storage)

    class NeedsUsers:
        def __init__(self, users: Users) -> None:
            self.users = users

    handler = await DependencyInjectorCQRSContainer(Application()).resolve(NeedsUsers)

    assert isinstance(handler.users, SqlUsers)


async def test_a_factory_function_names_what_it_provides_by_its_return_annotation() -> None:
    def make_users() -> Users:
        return SqlUsers(Session(Engine()))

    class Functions(containers.DeclarativeContainer):
        users = providers.Factory(make_users)

    class NeedsUsers:
        def __init__(self, users: Users, retries: int = 3) -> None:
            self.users = users
            self.retries = retries

    handler = await DependencyInjectorCQRSContainer(Functions()).resolve(NeedsUsers)

    assert isinstance(handler.users, SqlUsers)
    assert handler.retries == 3  # no provider of int: the default is kept


async def test_singletons_are_shared_by_every_handler(
    container: DependencyInjectorCQRSContainer,
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=container, commands_mapper=commands, domain_events_mapper=events
    )
    first, second = await container.resolve(SaveHandler), await container.resolve(SaveHandler)

    await mediator.send(Save())

    assert first is not second
    assert first.engine is second.engine
    assert first.session.engine is second.session.engine is first.engine


async def test_an_override_made_after_the_first_resolve_is_used() -> None:
    services = Services()
    adapter = DependencyInjectorCQRSContainer(services)
    await adapter.resolve(SaveHandler)
    fake = SqlUsers(Session(Engine()))

    with services.users.override(providers.Object(fake)):
        overridden = await adapter.resolve(SaveHandler)
    restored = await adapter.resolve(SaveHandler)

    assert overridden.users is fake
    assert restored.users is not fake


# --- the request scope: one per handler, open while it runs -----------------------------


async def test_a_cancelled_stream_closes_its_session_at_once(
    container: DependencyInjectorCQRSContainer, log: list[str]
) -> None:
    await cancel_a_stream_after_its_first_item(container)

    # CancelledError is a BaseException: no `except Exception` rollback, and no commit.
    assert log == ["open 1", "item, session 1 open: True", "close 1"]


async def test_a_long_lived_resource_is_left_to_the_container() -> None:
    class Pooled(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        session = providers.Resource(open_session, engine=engine)  # application-wide

    Session.count = 0
    services = Pooled()
    adapter = DependencyInjectorCQRSContainer(services)

    first = await adapter.resolve(NeedsSession)
    second = await adapter.resolve(NeedsSession)
    services.shutdown_resources()

    assert first.session is second.session
    assert LOG == ["open 1", "commit 1", "close 1"]  # closed by shutdown_resources only


class NeedsSession:
    def __init__(self, session: Session) -> None:
        self.session = session


async def test_a_resource_subclass_of_your_own_marks_request_scope(log: list[str]) -> None:
    class RequestResource(providers.Resource[Session]):
        pass

    class Marked(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        session = RequestResource(open_session, engine=engine)

    Session.count = 0
    adapter = DependencyInjectorCQRSContainer(Marked(), request_scoped=(RequestResource,))

    handler, release = await adapter.resolve_scoped(NeedsSession)
    assert handler.session.open
    assert release is not None
    await release(RuntimeError("failed"))

    assert log == ["open 1", "rollback 1 RuntimeError", "close 1"]
    assert handler.session.open is False


class UnitOfWork:
    def __init__(self, session: Session, settings: dict[str, int]) -> None:
        self.session = session
        self.settings = settings


def open_unit_of_work(session: Session, settings: dict[str, int]) -> Iterator[UnitOfWork]:
    LOG.append(f"begin {session.number}")
    yield UnitOfWork(session, settings)
    LOG.append(f"end {session.number}")


SETTINGS = {"retries": 3}


class NeedsUnitOfWork:
    def __init__(self, unit: UnitOfWork, session: Session) -> None:
        self.unit = unit
        self.session = session


async def test_request_scoped_resources_may_depend_on_each_other(log: list[str]) -> None:
    class Layered(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        session = providers.ContextLocalResource(open_session, engine=engine)
        unit = providers.ContextLocalResource(open_unit_of_work, session, settings=SETTINGS)

    Session.count = 0
    services = Layered()
    adapter = DependencyInjectorCQRSContainer(services)

    handler, release = await adapter.resolve_scoped(NeedsUnitOfWork)
    assert release is not None
    await release(None)

    assert handler.unit.session is handler.session  # one session in the handler's graph
    # Values injected as they are are not copied (the declarative container's instance
    # holds its own copy of the class's, made by dependency-injector).
    assert handler.unit.settings is services.unit.kwargs["settings"]
    assert log == ["open 1", "begin 1", "end 1", "commit 1", "close 1"]  # last opened first
    assert services.session.initialized is False  # the provider itself was not called


class Flaky(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self.session = session

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"primary, session {self.session.number} open: {self.session.open}")
        msg = "primary down"
        raise ConnectionError(msg)


class Steady(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self.session = session

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"fallback, session {self.session.number} open: {self.session.open}")
        return Saved(name="", session=self.session.number, was_open=True, same_session=True)


async def test_each_member_of_a_fallback_gets_its_own_scope(
    container: DependencyInjectorCQRSContainer, log: list[str]
) -> None:
    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, cqrs.RequestHandlerFallback(Flaky, Steady))

    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=mapper)

    assert (await mediator.send(Save())).session == 2
    assert log == [
        "open 1",
        "primary, session 1 open: True",
        "rollback 1 ConnectionError",
        "close 1",
        "open 2",
        "fallback, session 2 open: True",
        "commit 2",
        "close 2",
    ]


# --- wiring mistakes ---------------------------------------------------------------------


async def test_a_missing_binding_names_the_handler_and_the_parameter() -> None:
    class Empty(containers.DeclarativeContainer):
        pass

    with pytest.raises(DependencyResolutionError) as caught:
        await DependencyInjectorCQRSContainer(Empty()).resolve(NeedsSession)

    message = str(caught.value)
    assert "NeedsSession" in message
    assert "'session'" in message
    assert "Session" in message


async def test_a_missing_binding_fails_at_bootstrap(log: list[str]) -> None:
    class Empty(containers.DeclarativeContainer):
        pass

    with pytest.raises(DependencyResolutionError, match="SaveHandler"):
        bootstrap.bootstrap(
            di_container=DependencyInjectorCQRSContainer(Empty()), commands_mapper=commands
        )


async def test_a_missing_binding_fails_the_send_without_falling_back(log: list[str]) -> None:
    class Empty(containers.DeclarativeContainer):
        pass

    request_map = cqrs.RequestMap()
    commands(request_map)
    mediator = cqrs.RequestMediator(request_map, DependencyInjectorCQRSContainer(Empty()))

    with pytest.raises(DependencyResolutionError, match="SaveHandler"):
        await mediator.send(Save())


async def test_an_abstract_class_without_a_provider_is_refused() -> None:
    class Notifier(abc.ABC):
        @abc.abstractmethod
        def notify(self) -> None: ...

    with pytest.raises(DependencyResolutionError, match=r"Notifier.*abstract class"):
        await DependencyInjectorCQRSContainer(Services()).resolve(Notifier)


async def test_two_providers_of_one_type_are_ambiguous() -> None:
    class Twice(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        other_engine = providers.Singleton(Engine)

    class NeedsEngine:
        def __init__(self, engine: Engine) -> None:
            self.engine = engine

    with pytest.raises(DependencyResolutionError, match=r"several providers.*'engine'"):
        await DependencyInjectorCQRSContainer(Twice()).resolve(NeedsEngine)


async def test_a_singleton_that_depends_on_a_request_scoped_resource_is_refused() -> None:
    class Leaky(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)
        session = providers.ContextLocalResource(open_session, engine=engine)
        users = providers.Singleton(SqlUsers, session=session)

    class NeedsUsers:
        def __init__(self, users: Users) -> None:
            self.users = users

    with pytest.raises(DependencyResolutionError, match=r"'users' lives as long as the container"):
        await DependencyInjectorCQRSContainer(Leaky()).resolve(NeedsUsers)


async def test_an_undefined_dependency_provider_is_a_resolution_error() -> None:
    class Core(containers.DeclarativeContainer):
        users = providers.Dependency(instance_of=Users)

    class NeedsUsers:
        def __init__(self, users: Users) -> None:
            self.users = users

    with pytest.raises(DependencyResolutionError, match="NeedsUsers"):
        await DependencyInjectorCQRSContainer(Core()).resolve(NeedsUsers)


def test_prepare_reports_wiring_mistakes_up_front() -> None:
    class Empty(containers.DeclarativeContainer):
        engine = providers.Singleton(Engine)

    adapter = DependencyInjectorCQRSContainer(Empty())

    adapter.prepare([Engine])
    with pytest.raises(DependencyResolutionError, match="NeedsSession"):
        adapter.prepare([Engine, NeedsSession])
