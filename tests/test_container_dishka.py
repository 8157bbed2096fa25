"""DishkaContainer: handlers built by a real dishka container, one REQUEST scope each.

The request-scope behaviours of tests/test_di_scopes.py, through the real mediators:
a `Scope.REQUEST` dependency is created once per handler, shared within that
handler's graph, kept open while it runs, finalized after it (a stream: after it ends
or is closed early) and handed the handler's exception; `Scope.APP` dependencies are
shared; concurrent handlers get separate scopes; a missing factory is a clear
`DependencyResolutionError`.

dishka gives a generator factory the exception as the value of its `yield`
(`error = yield session`), not by raising it there.
"""

from __future__ import annotations

import abc
import asyncio
import importlib
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Generator

import pytest
from dishka import AsyncContainer, Provider, Scope, make_async_container, provide

import cqrs
from cqrs.container.dishka import DishkaContainer, DishkaCQRSContainer
from cqrs.container.protocol import ScopedResolver
from cqrs.events import bootstrap as events_bootstrap
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError
from cqrs.requests import bootstrap

LOG: list[str] = []


@pytest.fixture(autouse=True)
def log() -> list[str]:
    LOG.clear()
    Session.count = 0
    return LOG


# --- the application's services -------------------------------------------------------


class Engine:
    """APP scope: one per container."""


class Session:
    count = 0

    def __init__(self, engine: Engine) -> None:
        Session.count += 1
        self.number = Session.count
        self.engine = engine
        self.open = True


def _finish(session: Session, error: BaseException | None) -> None:
    if error is None:
        LOG.append(f"commit {session.number}")
    else:
        LOG.append(f"rollback {session.number} {type(error).__name__}")
    session.open = False
    LOG.append(f"close {session.number}")


class Users(abc.ABC):
    @abc.abstractmethod
    def name(self, user_id: int) -> str: ...


class SqlUsers(Users):
    def __init__(self, session: Session) -> None:
        self.session = session

    def name(self, user_id: int) -> str:
        return f"user {user_id}"


# --- messages and handlers ------------------------------------------------------------


class Saved(cqrs.Response):
    name: str
    session: int
    was_open: bool
    same_session: bool


class Save(cqrs.Request[Saved]):
    user_id: int = 1
    fail: bool = False


class SavedEvent(cqrs.DomainEvent, frozen=True):
    user_id: int


class SaveHandler(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, users: Users, session: Session, engine: Engine) -> None:
        self.users = users
        self.session = session
        self.engine = engine
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"handle, session {self.session.number} open: {self.session.open}")
        if request.fail:
            msg = "constraint violated"
            raise ValueError(msg)
        self._events.append(SavedEvent(user_id=request.user_id))
        return Saved(
            name=self.users.name(request.user_id),
            session=self.session.number,
            was_open=self.session.open,
            same_session=_users_session(self.users) is self.session,
        )


def _users_session(users: Users) -> Session:
    assert isinstance(users, SqlUsers)
    return users.session


class SavedEventHandler(cqrs.EventHandler[SavedEvent]):
    def __init__(self, session: Session) -> None:
        self.session = session

    async def handle(self, event: SavedEvent) -> None:
        LOG.append(f"event, session {self.session.number} open: {self.session.open}")


class Export(cqrs.Request[Saved]):
    items: int
    block_after_first: bool = False


class ExportHandler(cqrs.StreamingRequestHandler[Export, Saved]):
    def __init__(self, users: Users, session: Session) -> None:
        self.users = users
        self.session = session

    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[Saved]:
        for index in range(request.items):
            if index and request.block_after_first:
                await asyncio.Event().wait()  # parked until cancelled
            LOG.append(f"item, session {self.session.number} open: {self.session.open}")
            yield Saved(
                name=self.users.name(index),
                session=self.session.number,
                was_open=self.session.open,
                same_session=_users_session(self.users) is self.session,
            )


class Handlers(Provider):
    scope = Scope.REQUEST

    engine = provide(Engine, scope=Scope.APP)
    users = provide(SqlUsers, provides=Users)
    save = provide(SaveHandler)
    saved = provide(SavedEventHandler)
    export = provide(ExportHandler)


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


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Save, SaveHandler)
    mapper.bind(Export, ExportHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(SavedEvent, SavedEventHandler)


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


async def test_the_session_is_open_while_the_handler_runs_and_finalized_after(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=commands)

    saved = await mediator.send(Save())

    assert saved == Saved(name="user 1", session=1, was_open=True, same_session=True)
    assert log == ["open 1", "handle, session 1 open: True", "commit 1", "close 1"]


async def test_the_session_is_handed_the_handlers_exception(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=commands)

    with pytest.raises(ValueError, match="constraint violated"):
        await mediator.send(Save(fail=True))

    assert log == ["open 1", "handle, session 1 open: True", "rollback 1 ValueError", "close 1"]


async def test_each_event_handler_gets_a_scope_of_its_own(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap(
        di_container=container, commands_mapper=commands, domain_events_mapper=events
    )

    await mediator.send(Save())

    assert log == [
        "open 1",
        "handle, session 1 open: True",
        "commit 1",
        "close 1",
        "open 2",
        "event, session 2 open: True",
        "commit 2",
        "close 2",
    ]


async def test_the_event_mediator_opens_a_scope_per_handler(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = events_bootstrap.bootstrap(di_container=container, events_mapper=events)

    await mediator.send(SavedEvent(user_id=1))
    await mediator.send(SavedEvent(user_id=2))

    assert log == [
        "open 1",
        "event, session 1 open: True",
        "commit 1",
        "close 1",
        "open 2",
        "event, session 2 open: True",
        "commit 2",
        "close 2",
    ]


async def test_a_stream_keeps_its_session_until_the_stream_ends(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container, commands_mapper=commands)

    items = [item async for item in mediator.stream(Export(items=2))]

    assert [item.same_session and item.was_open for item in items] == [True, True]
    assert log == [
        "open 1",
        "item, session 1 open: True",
        "item, session 1 open: True",
        "commit 1",
        "close 1",
    ]


async def test_a_stream_closed_early_finalizes_its_session_without_an_error(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container, commands_mapper=commands)
    stream = mediator.stream(Export(items=10))

    async for _ in stream:
        break
    await stream.aclose()

    assert log == ["open 1", "item, session 1 open: True", "commit 1", "close 1"]


async def test_a_cancelled_stream_hands_the_cancellation_to_its_session(
    container: DishkaContainer, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container, commands_mapper=commands)
    first_item = asyncio.Event()

    async def consume() -> None:
        async for _ in mediator.stream(Export(items=10, block_after_first=True)):
            first_item.set()

    task = asyncio.ensure_future(consume())
    await first_item.wait()
    await asyncio.sleep(0)  # the consumer asks for the next item: the handler parks
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert log == [
        "open 1",
        "item, session 1 open: True",
        "rollback 1 CancelledError",
        "close 1",
    ]


async def test_concurrent_sends_get_separate_scopes(
    dishka_container: AsyncContainer, log: list[str]
) -> None:
    inside: list[int] = []
    both_inside = asyncio.Event()

    class Meeting(cqrs.RequestHandler[Save, Saved]):
        def __init__(self, session: Session) -> None:
            self.session = session

        async def handle(self, request: Save) -> Saved:
            inside.append(self.session.number)
            if len(inside) == 2:
                both_inside.set()
            await both_inside.wait()  # both handlers are running, their sessions open
            return Saved(name="", session=self.session.number, was_open=True, same_session=True)

    class Meetings(Provider):
        meeting = provide(Meeting, scope=Scope.REQUEST)

    container = make_async_container(Handlers(), SyncSessions(), Meetings())

    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, Meeting)

    mediator = bootstrap.bootstrap(di_container=DishkaContainer(container), commands_mapper=mapper)

    first, second = await asyncio.gather(mediator.send(Save()), mediator.send(Save()))
    await container.close()

    assert {first.session, second.session} == {1, 2}
    assert log[:2] == ["open 1", "open 2"]
    assert sorted(log[2:]) == ["close 1", "close 2", "commit 1", "commit 2"]


async def test_plain_resolve_closes_the_scope_before_returning(
    container: DishkaContainer, log: list[str]
) -> None:
    handler = await container.resolve(SaveHandler)

    assert log == ["open 1", "commit 1", "close 1"]
    assert handler.session.open is False


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
