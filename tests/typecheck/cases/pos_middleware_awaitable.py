"""Positive (issue 9, item 7): a middleware whose `__call__` is a plain `def` returning an awaitable."""

from collections.abc import Awaitable

import di
from typing_extensions import TypeVar, assert_type

from cqrs.middlewares import Handle, Middleware, MiddlewareChain
from cqrs.requests import bootstrap

_T = TypeVar("_T")
_R = TypeVar("_R")


class PassThrough:
    """Forwards the awaitable `handle` returns, without a coroutine of its own."""

    def __call__(self, request: _T, handle: Handle[_T, _R], /) -> Awaitable[_R]:
        return handle(request)


class Timing:
    async def __call__(self, request: _T, handle: Handle[_T, _R], /) -> _R:
        return await handle(request)


middlewares: list[Middleware] = [PassThrough(), Timing()]
mediator = bootstrap.bootstrap(di_container=di.Container(), middlewares=[PassThrough(), Timing()])


async def through_the_chain(handle: Handle[int, str]) -> None:
    chain = MiddlewareChain([PassThrough(), Timing()])
    assert_type(await chain.wrap(handle)(1), str)
