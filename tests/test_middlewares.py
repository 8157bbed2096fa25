"""Middlewares (SPEC 2.7): the chain's order, and LoggingMiddleware."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import cqrs
from cqrs.middlewares.base import Middleware, MiddlewareChain
from cqrs.middlewares.logging import LoggingMiddleware

Handle = Callable[[Any], Awaitable[Any]]


class Recording:
    """Records when it runs, before and after the rest of the chain."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def __call__(self, request: Any, handle: Handle, /) -> Any:
        self.log.append(f"{self.name} before")
        response = await handle(request)
        self.log.append(f"{self.name} after")
        return response


def recording_handler(log: list[str]) -> Handle:
    async def handle(request: Any) -> Any:
        log.append(f"handler {request}")
        return f"response to {request}"

    return handle


async def test_wrap_of_an_empty_chain_calls_the_handler() -> None:
    log: list[str] = []

    response = await MiddlewareChain().wrap(recording_handler(log))("req")

    assert response == "response to req"
    assert log == ["handler req"]


async def test_first_added_middleware_is_outermost() -> None:
    log: list[str] = []
    chain = MiddlewareChain()
    chain.add(Recording("a", log))
    chain.add(Recording("b", log))

    await chain.wrap(recording_handler(log))("req")

    assert log == ["a before", "b before", "handler req", "b after", "a after"]


async def test_middlewares_given_to_the_constructor_run_in_order() -> None:
    log: list[str] = []
    chain = MiddlewareChain([Recording("a", log), Recording("b", log)])

    await chain.wrap(recording_handler(log))("req")

    assert log == ["a before", "b before", "handler req", "b after", "a after"]


async def test_add_appends_inside_the_middlewares_given_to_the_constructor() -> None:
    log: list[str] = []
    chain = MiddlewareChain([Recording("a", log)])
    chain.add(Recording("b", log))

    await chain.wrap(recording_handler(log))("req")

    assert log == ["a before", "b before", "handler req", "b after", "a after"]


async def test_wrap_returns_the_response_through_every_middleware() -> None:
    log: list[str] = []
    chain = MiddlewareChain([Recording("a", log), Recording("b", log)])

    response = await chain.wrap(recording_handler(log))("req")

    assert response == "response to req"


async def test_middleware_can_replace_the_request() -> None:
    class Upper:
        async def __call__(self, request: Any, handle: Handle, /) -> Any:
            return await handle(request.upper())

    log: list[str] = []
    chain = MiddlewareChain([Upper()])

    await chain.wrap(recording_handler(log))("req")

    assert log == ["handler REQ"]


async def test_middleware_can_replace_the_response() -> None:
    class Wrap:
        async def __call__(self, request: Any, handle: Handle, /) -> Any:
            return f"<{await handle(request)}>"

    chain = MiddlewareChain([Wrap()])

    response = await chain.wrap(recording_handler([]))("req")

    assert response == "<response to req>"


async def test_middleware_can_short_circuit_the_handler() -> None:
    class Cached:
        async def __call__(self, request: Any, handle: Handle, /) -> Any:
            return "cached"

    log: list[str] = []
    chain = MiddlewareChain([Cached(), Recording("inner", log)])

    response = await chain.wrap(recording_handler(log))("req")

    assert response == "cached"
    assert log == []


async def test_an_exception_in_the_handler_propagates_through_the_chain() -> None:
    log: list[str] = []

    async def failing(request: Any) -> Any:
        msg = "boom"
        raise ValueError(msg)

    chain = MiddlewareChain([Recording("a", log)])

    with pytest.raises(ValueError, match="boom"):
        await chain.wrap(failing)("req")

    assert log == ["a before"]


def test_chain_reports_its_middlewares_outermost_first() -> None:
    first, second = Recording("a", []), Recording("b", [])
    chain = MiddlewareChain([first])
    chain.add(second)

    assert list(chain.middlewares) == [first, second]
    assert len(chain) == 2


def test_a_plain_async_callable_class_is_a_middleware() -> None:
    middleware: Middleware = LoggingMiddleware()

    MiddlewareChain([middleware])


# --- through a mediator -------------------------------------------------------------


class Echo(cqrs.Request):
    text: str


class Echoed(cqrs.Response):
    text: str


class EchoHandler(cqrs.RequestHandler[Echo, Echoed]):
    async def handle(self, request: Echo) -> Echoed:
        return Echoed(text=request.text)


async def test_mediator_runs_the_handler_inside_the_chain() -> None:
    class Shout:
        async def __call__(self, request: Any, handle: Handle, /) -> Any:
            response = await handle(Echo(text=request.text + "!"))
            return Echoed(text=response.text.upper())

    request_map = cqrs.RequestMap()
    request_map.bind(Echo, EchoHandler)
    mediator = cqrs.RequestMediator(
        request_map, cqrs.DIContainer(), middleware_chain=MiddlewareChain([Shout()])
    )

    response = await mediator.send(Echo(text="hi"))

    assert response.text == "HI!"


# --- LoggingMiddleware --------------------------------------------------------------


class Noisy:
    """A request that counts how often it is formatted for a log."""

    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "Noisy()"


async def test_logging_middleware_logs_request_and_response_at_debug_on_cqrs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    chain = MiddlewareChain([LoggingMiddleware()])

    response = await chain.wrap(recording_handler([]))(Echo(text="hello"))

    assert response == "response to text='hello'"
    records = [r for r in caplog.records if r.name == "cqrs"]
    assert [r.levelno for r in records] == [logging.DEBUG, logging.DEBUG]
    assert "Echo" in records[0].getMessage()
    assert "hello" in records[0].getMessage()
    assert "response to text='hello'" in records[1].getMessage()


async def test_logging_middleware_logs_the_request_before_the_handler_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")
    seen_before: list[int] = []

    async def handle(request: Any) -> str:
        seen_before.append(len(caplog.records))
        return "done"

    await MiddlewareChain([LoggingMiddleware()]).wrap(handle)("req")

    assert seen_before == [1]
    assert len(caplog.records) == 2


async def test_logging_middleware_logs_nothing_when_debug_is_disabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cqrs")
    request = Noisy()

    response = await MiddlewareChain([LoggingMiddleware()]).wrap(recording_handler([]))(request)

    assert response == "response to Noisy()"
    assert [r for r in caplog.records if r.name == "cqrs"] == []


async def test_logging_middleware_does_not_format_the_request_when_debug_is_disabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="cqrs")
    request = Noisy()

    async def handle(request: Any) -> str:
        return "done"

    await MiddlewareChain([LoggingMiddleware()]).wrap(handle)(request)

    assert request.reprs == 0


async def test_logging_middleware_logs_to_the_logger_it_is_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    middleware = LoggingMiddleware(logging.getLogger("tests.middleware"))

    await MiddlewareChain([middleware]).wrap(recording_handler([]))("req")

    assert {r.name for r in caplog.records} == {"tests.middleware"}


async def test_logging_middleware_passes_handler_exceptions_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cqrs")

    async def failing(request: Any) -> Any:
        msg = "boom"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="boom"):
        await MiddlewareChain([LoggingMiddleware()]).wrap(failing)("req")


async def test_a_plain_def_middleware_returning_an_awaitable_works() -> None:
    seen: list[str] = []

    class PassThrough:
        def __call__(self, request: Any, handle: Handle, /) -> Awaitable[Any]:
            seen.append(f"before {request}")
            return handle(request)

    async def handle(request: Any) -> str:
        return f"handled {request}"

    chain = MiddlewareChain([PassThrough()])
    assert await chain.wrap(handle)("r") == "handled r"
    assert seen == ["before r"]
