"""Request-scoped dependencies stay open while their handler runs, and close after it.

A session opened by a generator dependency (`yield session`) is the usual way to give
a handler a unit of work: it must still be open in `handle`, close once the handler is
done, and see the handler's exception so that it can roll back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Generator

import di
import pytest
from di.dependent import Dependent

import cqrs
from cqrs.container.protocol import ScopedResolver
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import CORRequestHandler

LOG: list[str] = []


class Session:
    def __init__(self) -> None:
        self.open = True


def open_session() -> Generator[Session, None, None]:
    session = Session()
    LOG.append("open")
    try:
        yield session
    except Exception as error:
        LOG.append(f"rollback {type(error).__name__}")
        raise
    else:
        LOG.append("commit")
    finally:
        session.open = False
        LOG.append("close")


async def open_async_session() -> AsyncGenerator[Session, None]:
    session = Session()
    LOG.append("open")
    try:
        yield session
    finally:
        session.open = False
        LOG.append("close")


class Saved(cqrs.Response):
    was_open: bool


class Save(cqrs.Request[Saved]):
    fail: bool = False


class SaveHandler(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def events(self) -> list[cqrs.IEvent]:
        return [SavedEvent()]

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"handle, session open: {self._session.open}")
        if request.fail:
            msg = "constraint violated"
            raise ValueError(msg)
        return Saved(was_open=self._session.open)


class SavedEvent(cqrs.DomainEvent, frozen=True):
    pass


class SavedEventHandler(cqrs.EventHandler[SavedEvent]):
    def __init__(self, session: Session) -> None:
        self._session = session

    async def handle(self, event: SavedEvent) -> None:
        LOG.append(f"event, session open: {self._session.open}")


class Export(cqrs.Request[Saved]):
    items: int
    block_after_first: bool = False


class ExportHandler(cqrs.StreamingRequestHandler[Export, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[Saved]:
        for index in range(request.items):
            if index and request.block_after_first:
                await asyncio.Event().wait()  # parked until cancelled
            LOG.append(f"item, session open: {self._session.open}")
            yield Saved(was_open=self._session.open)


@pytest.fixture(autouse=True)
def log() -> list[str]:
    LOG.clear()
    return LOG


def container(provider: object = open_session) -> di.Container:
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(provider, scope="request"), Session))
    return raw


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Save, SaveHandler)
    mapper.bind(Export, ExportHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(SavedEvent, SavedEventHandler)


def test_the_shipped_container_keeps_scopes_open_for_the_mediators() -> None:
    assert isinstance(cqrs.DIContainer(), ScopedResolver)


@pytest.mark.parametrize("provider", [open_session, open_async_session], ids=["sync", "async"])
async def test_the_session_is_open_while_the_handler_runs_and_closed_after(
    log: list[str], provider: object
) -> None:
    mediator = bootstrap.bootstrap(di_container=container(provider), commands_mapper=commands)

    assert await mediator.send(Save()) == Saved(was_open=True)
    assert log[0] == "open"
    assert log[1] == "handle, session open: True"
    assert log[-1] == "close"


async def test_the_session_sees_the_handlers_exception(log: list[str]) -> None:
    mediator = bootstrap.bootstrap(di_container=container(), commands_mapper=commands)

    with pytest.raises(ValueError, match="constraint violated"):
        await mediator.send(Save(fail=True))

    assert log == ["open", "handle, session open: True", "rollback ValueError", "close"]


async def test_a_successful_handler_commits_before_its_events_run(log: list[str]) -> None:
    mediator = bootstrap.bootstrap(
        di_container=container(), commands_mapper=commands, domain_events_mapper=events
    )

    await mediator.send(Save())

    # The request's session closes when its handler is done; the event handler gets
    # a scope (and a session) of its own, open while it runs.
    assert log == [
        "open",
        "handle, session open: True",
        "commit",
        "close",
        "open",
        "event, session open: True",
        "commit",
        "close",
    ]


async def test_a_stream_keeps_its_session_until_the_stream_ends(log: list[str]) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container(), commands_mapper=commands)

    items = [item async for item in mediator.stream(Export(items=3))]

    assert items == [Saved(was_open=True)] * 3
    assert log == [
        "open",
        "item, session open: True",
        "item, session open: True",
        "item, session open: True",
        "commit",
        "close",
    ]


async def test_a_consumer_that_stops_early_closes_the_session_without_an_error(
    log: list[str],
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container(), commands_mapper=commands)
    stream = mediator.stream(Export(items=10))

    async for _ in stream:
        break
    await stream.aclose()

    assert log == ["open", "item, session open: True", "commit", "close"]


async def test_a_stream_cancelled_inside_the_handler_closes_without_committing(
    log: list[str],
) -> None:
    mediator = bootstrap.bootstrap_streaming(di_container=container(), commands_mapper=commands)
    first_item = asyncio.Event()

    async def consume() -> None:
        async for _ in mediator.stream(Export(items=10, block_after_first=True)):
            first_item.set()

    task = asyncio.ensure_future(consume())
    await first_item.wait()
    await asyncio.sleep(0)  # let the consumer ask for the next item: the handler parks
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # The session sees the CancelledError (a BaseException, so no `except Exception`
    # rollback and no commit) and closes at once.
    assert log == ["open", "item, session open: True", "close"]


async def test_plain_resolve_still_closes_the_scope_before_returning(log: list[str]) -> None:
    resolver = cqrs.DIContainer(container())

    handler = await resolver.resolve(SaveHandler)

    assert log == ["open", "commit", "close"]
    assert handler._session.open is False


# --- fallbacks and chains: each member in its own scope ------------------------------------


class Flaky(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"primary, session open: {self._session.open}")
        msg = "primary down"
        raise ConnectionError(msg)


class Steady(cqrs.RequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    async def handle(self, request: Save) -> Saved:
        LOG.append(f"fallback, session open: {self._session.open}")
        return Saved(was_open=self._session.open)


async def test_each_member_of_a_fallback_gets_its_own_open_scope(log: list[str]) -> None:
    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, cqrs.RequestHandlerFallback(Flaky, Steady))

    mediator = bootstrap.bootstrap(di_container=container(), commands_mapper=mapper)

    assert await mediator.send(Save()) == Saved(was_open=True)
    assert log == [
        "open",
        "primary, session open: True",
        "rollback ConnectionError",
        "close",
        "open",
        "fallback, session open: True",
        "commit",
        "close",
    ]


class FlakyExport(cqrs.StreamingRequestHandler[Export, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    def clear_events(self) -> None:
        pass

    async def handle(self, request: Export) -> AsyncIterator[Saved]:
        LOG.append(f"primary item, session open: {self._session.open}")
        yield Saved(was_open=self._session.open)
        msg = "feed lost"
        raise ConnectionError(msg)


async def test_a_streaming_fallback_closes_the_primary_scope_before_the_fallback_opens(
    log: list[str],
) -> None:
    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Export, cqrs.RequestHandlerFallback(FlakyExport, ExportHandler))

    mediator = bootstrap.bootstrap_streaming(di_container=container(), commands_mapper=mapper)

    items = [item async for item in mediator.stream(Export(items=2))]

    assert items == [Saved(was_open=True)] * 3
    assert log == [
        "open",
        "primary item, session open: True",
        "rollback ConnectionError",
        "close",
        "open",
        "item, session open: True",
        "item, session open: True",
        "commit",
        "close",
    ]


class PassOn(CORRequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    async def handle(self, request: Save) -> Saved | None:
        LOG.append(f"link 1, session open: {self._session.open}")
        return await self.next(request)


class Answer(CORRequestHandler[Save, Saved]):
    def __init__(self, session: Session) -> None:
        self._session = session

    async def handle(self, request: Save) -> Saved | None:
        LOG.append(f"link 2, session open: {self._session.open}")
        return Saved(was_open=self._session.open)


async def test_chain_links_keep_their_scopes_open_until_the_chain_has_answered(
    log: list[str],
) -> None:
    def mapper(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Save, [PassOn, Answer])

    mediator = bootstrap.bootstrap(di_container=container(), commands_mapper=mapper)

    assert await mediator.send(Save()) == Saved(was_open=True)
    # The second link runs inside the first one's `next`: scopes nest.
    assert log == [
        "open",
        "link 1, session open: True",
        "open",
        "link 2, session open: True",
        "commit",
        "close",
        "commit",
        "close",
    ]
