"""The request-scope tests every container adapter must pass, written once.

A test file of an adapter imports these tests (`from tests.container_scopes import *`:
`__all__` holds only the tests) and provides two fixtures:

- `container`: the adapter under test, able to build the handlers below, with a
  request-scoped `Session` (it needs the `Engine`, one per container) that appends
  `open N` to `LOG` when it is created, `commit N` or `rollback N <exception>` when
  its scope ends, then `close N` (marking the session closed); numbered from 1 in
  each test;
- `log`: `LOG`, emptied for each test.

The behaviours are those of tests/test_di_scopes.py, through the real mediators: a
session is opened once per handler, shared within that handler's graph, kept open
while it runs, closed after it (a stream: after it ends or is closed early), and sees
the handler's exception; concurrent handlers get separate scopes.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator

import pytest

import cqrs
from cqrs.container.protocol import ScopedResolver
from cqrs.events import bootstrap as events_bootstrap
from cqrs.requests import bootstrap

__all__ = [
    "test_a_stream_closed_early_closes_its_session_without_an_error",
    "test_a_stream_keeps_its_session_until_the_stream_ends",
    "test_concurrent_sends_get_separate_scopes",
    "test_each_event_handler_gets_a_scope_of_its_own",
    "test_plain_resolve_closes_the_scope_before_returning",
    "test_the_event_mediator_opens_a_scope_per_handler",
    "test_the_session_is_open_while_the_handler_runs_and_closed_after",
    "test_the_session_sees_the_handlers_exception",
]

LOG: list[str] = []


# --- the application's services -------------------------------------------------------


class Engine:
    """Long-lived: one per container."""


class Session:
    count = 0

    def __init__(self, engine: Engine) -> None:
        Session.count += 1
        self.number = Session.count
        self.engine = engine
        self.open = True


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


class Meeting(cqrs.RequestHandler[Save, Saved]):
    """Waits until two of its kind are inside `handle`; a test sets the class's state."""

    inside: list[int]
    both_inside: asyncio.Event

    def __init__(self, session: Session) -> None:
        self.session = session

    async def handle(self, request: Save) -> Saved:
        Meeting.inside.append(self.session.number)
        if len(Meeting.inside) == 2:
            Meeting.both_inside.set()
        await Meeting.both_inside.wait()  # both handlers are running, their sessions open
        return Saved(name="", session=self.session.number, was_open=True, same_session=True)


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Save, SaveHandler)
    mapper.bind(Export, ExportHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(SavedEvent, SavedEventHandler)


async def cancel_a_stream_after_its_first_item(container: ScopedResolver) -> None:
    """Cancel the consumer of a stream while its handler is parked after one item.

    What the session then sees differs between containers: each test file asserts it.
    """
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


# --- the request scope: one per handler, open while it runs -----------------------------


async def test_the_session_is_open_while_the_handler_runs_and_closed_after(
    container: ScopedResolver, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=commands)

    saved = await mediator.send(Save())

    assert saved == Saved(name="user 1", session=1, was_open=True, same_session=True)
    assert log == ["open 1", "handle, session 1 open: True", "commit 1", "close 1"]


async def test_the_session_sees_the_handlers_exception(
    container: ScopedResolver, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=commands)

    with pytest.raises(ValueError, match="constraint violated"):
        await mediator.send(Save(fail=True))

    assert log == ["open 1", "handle, session 1 open: True", "rollback 1 ValueError", "close 1"]


async def test_each_event_handler_gets_a_scope_of_its_own(
    container: ScopedResolver, log: list[str]
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
    container: ScopedResolver, log: list[str]
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
    container: ScopedResolver, log: list[str]
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


async def test_a_stream_closed_early_closes_its_session_without_an_error(
    container: ScopedResolver, log: list[str]
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container, commands_mapper=commands)
    stream = mediator.stream(Export(items=10))

    async for _ in stream:
        break
    await stream.aclose()

    assert log == ["open 1", "item, session 1 open: True", "commit 1", "close 1"]


async def test_concurrent_sends_get_separate_scopes(
    container: ScopedResolver, log: list[str]
) -> None:
    Meeting.inside = []
    Meeting.both_inside = asyncio.Event()

    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, Meeting)

    mediator = bootstrap.bootstrap(di_container=container, commands_mapper=mapper)

    first, second = await asyncio.gather(mediator.send(Save()), mediator.send(Save()))

    assert {first.session, second.session} == {1, 2}
    assert log[:2] == ["open 1", "open 2"]
    assert sorted(log[2:]) == ["close 1", "close 2", "commit 1", "commit 2"]


async def test_plain_resolve_closes_the_scope_before_returning(
    container: ScopedResolver, log: list[str]
) -> None:
    handler = await container.resolve(SaveHandler)

    assert log == ["open 1", "commit 1", "close 1"]
    assert handler.session.open is False
