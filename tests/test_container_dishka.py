"""DishkaContainer: handlers built by a real dishka container, one REQUEST scope each.

The request-scope tests of tests/container_scopes.py run here against a `Scope.REQUEST`
session made by a generator factory (sync and async); dishka hands it the handler's
exception as the value of its `yield` (`error = yield session`), not by raising it
there. The tests below add what is dishka's own: `Scope.APP` dependencies shared,
ACTION scopes inside a framework's request scope, and a missing factory as a clear
`DependencyResolutionError`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Generator

import pytest
from dishka import AsyncContainer, Provider, Scope, make_async_container, provide
from tests.container_scopes import *  # noqa: F403
from tests.container_scopes import (
    LOG,
    Engine,
    ExportHandler,
    Meeting,
    Save,
    Saved,
    SavedEventHandler,
    SaveHandler,
    Session,
    SqlUsers,
    Users,
    cancel_a_stream_after_its_first_item,
    commands,
)

import cqrs
from cqrs.container.dishka import DishkaContainer, DishkaCQRSContainer
from cqrs.container.protocol import ScopedResolver
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.requests import bootstrap


@pytest.fixture(autouse=True)
def log() -> list[str]:
    LOG.clear()
    Session.count = 0
    return LOG


# --- the application's services -------------------------------------------------------


def _finish(session: Session, error: BaseException | None) -> None:
    if error is None:
        LOG.append(f"commit {session.number}")
    else:
        LOG.append(f"rollback {session.number} {type(error).__name__}")
    session.open = False
    LOG.append(f"close {session.number}")


class Handlers(Provider):
    scope = Scope.REQUEST

    engine = provide(Engine, scope=Scope.APP)
    users = provide(SqlUsers, provides=Users)
    save = provide(SaveHandler)
    saved = provide(SavedEventHandler)
    export = provide(ExportHandler)
    meeting = provide(Meeting)


class SyncSessions(Provider):
    @provide(scope=Scope.REQUEST)
    def session(self, engine: Engine) -> Generator[Session, BaseException | None, None]:
        session = Session(engine)
        LOG.append(f"open {session.number}")
        error = yield session
        _finish(session, error)


class AsyncSessions(Provider):
    @provide(scope=Scope.REQUEST)
    async def session(self, engine: Engine) -> AsyncGenerator[Session, BaseException | None]:
        session = Session(engine)
        LOG.append(f"open {session.number}")
        error = yield session
        _finish(session, error)


@pytest.fixture(params=[SyncSessions, AsyncSessions], ids=["sync", "async"])
async def dishka_container(request: pytest.FixtureRequest) -> AsyncIterator[AsyncContainer]:
    sessions: type[Provider] = request.param
    container = make_async_container(Handlers(), sessions())
    yield container
    await container.close()


@pytest.fixture
def container(dishka_container: AsyncContainer) -> DishkaContainer:
    return DishkaContainer(dishka_container)


# --- the protocol and its names ---------------------------------------------------------


async def test_it_is_a_scoped_container_bootstrap_accepts(
    dishka_container: AsyncContainer,
) -> None:
    adapter = DishkaContainer(dishka_container)

    assert isinstance(adapter, ScopedResolver)
    assert adapter.external_container is dishka_container
    mediator = bootstrap.bootstrap(di_container=adapter, commands_mapper=commands)
    assert isinstance(mediator, cqrs.RequestMediator)


async def test_the_python_cqrs_name_and_attach_after_construction_work(
    dishka_container: AsyncContainer,
) -> None:
    adapter = DishkaCQRSContainer()
    adapter.attach_external_container(dishka_container)

    mediator = bootstrap.bootstrap(di_container=adapter, commands_mapper=commands)

    assert DishkaCQRSContainer is DishkaContainer
    assert (await mediator.send(Save())).name == "user 1"


async def test_using_it_before_a_container_is_attached_says_what_to_do() -> None:
    adapter = DishkaContainer()

    with pytest.raises(InvalidConfigurationError, match="attach_external_container"):
        await adapter.resolve(SaveHandler)


def test_importing_without_dishka_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "cqrs.container.dishka")
    monkeypatch.delitem(sys.modules, "cqrs.adapters.dishka")
    monkeypatch.setitem(sys.modules, "dishka", None)  # `import dishka` now fails

    with pytest.raises(ImportError, match=r"pip install \"cqrs-typed\[dishka\]\""):
        importlib.import_module("cqrs.container.dishka")


# --- building handlers -------------------------------------------------------------------


async def test_a_handler_gets_its_constructor_dependencies(container: DishkaContainer) -> None:
    handler, release = await container.resolve_scoped(SaveHandler)

    assert isinstance(handler.users, SqlUsers)
    assert handler.users.session is handler.session  # one session in the handler's graph
    await release(None)


async def test_app_scoped_dependencies_are_shared_by_every_handler(
    container: DishkaContainer,
) -> None:
    first, release_first = await container.resolve_scoped(SaveHandler)
    second, release_second = await container.resolve_scoped(SaveHandler)

    assert first is not second
    assert first.session is not second.session
    assert first.engine is second.engine
    await release_second(None)
    await release_first(None)


# --- the request scope: one per handler, open while it runs -----------------------------


async def test_a_cancelled_stream_hands_the_cancellation_to_its_session(
    container: DishkaContainer, log: list[str]
) -> None:
    await cancel_a_stream_after_its_first_item(container)

    assert log == [
        "open 1",
        "item, session 1 open: True",
        "rollback 1 CancelledError",
        "close 1",
    ]


class Step:
    count = 0

    def __init__(self) -> None:
        Step.count += 1
        self.number = Step.count


class StepHandler(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session, step: Step) -> None:
        self.session = session
        self.step = step

    async def handle(self, request: Save) -> Saved:
        return Saved(name="", session=self.session.number, was_open=True, same_session=True)


async def test_inside_a_framework_request_scope_handlers_enter_action_scopes(
    dishka_container: AsyncContainer, log: list[str]
) -> None:
    class Steps(Provider):
        step = provide(Step, scope=Scope.ACTION)
        handler = provide(StepHandler, scope=Scope.ACTION)

    container = make_async_container(Handlers(), SyncSessions(), Steps())
    async with container() as request_container:  # what a web framework integration does
        adapter = DishkaContainer(request_container, scope=Scope.ACTION)
        first = await adapter.resolve(StepHandler)
        second = await adapter.resolve(StepHandler)
        assert first.session is second.session  # the request's, shared
        assert first.step is not second.step  # one per handler
    await container.close()

    assert log == ["open 1", "commit 1", "close 1"]


# --- wiring mistakes ---------------------------------------------------------------------


async def test_a_handler_without_a_factory_is_a_clear_resolution_error(
    container: DishkaContainer, log: list[str]
) -> None:
    class Unknown(cqrs.RequestHandler[Save, Saved]):
        async def handle(self, request: Save) -> Saved:
            raise NotImplementedError

    with pytest.raises(DependencyResolutionError, match=r"cannot build .*Unknown") as caught:
        await container.resolve(Unknown)

    assert "Unknown" in str(caught.value.__cause__)  # dishka's own message, kept as the cause


async def test_a_missing_binding_fails_the_send_without_falling_back(
    container: DishkaContainer,
) -> None:
    class Unknown(cqrs.RequestHandler[Save, Saved]):
        async def handle(self, request: Save) -> Saved:
            raise NotImplementedError

    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, cqrs.RequestHandlerFallback(Unknown, SaveHandler))

    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=mapper)

    with pytest.raises(DependencyResolutionError, match="Unknown"):
        await mediator.send(Save())


async def test_wrapping_a_container_without_the_child_scope_says_what_to_do(
    dishka_container: AsyncContainer,
) -> None:
    async with dishka_container() as request_container:
        adapter = DishkaContainer(request_container)  # already REQUEST: no REQUEST below it

        with pytest.raises(InvalidConfigurationError, match=r"scope=\.\.\."):
            await adapter.resolve(SaveHandler)
