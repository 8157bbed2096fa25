"""Middlewares: code that runs around every handler call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from typing_extensions import TypeVar

__all__ = ("Handle", "Middleware", "MiddlewareChain")

_MsgT = TypeVar("_MsgT")
_ResT = TypeVar("_ResT")

Handle = Callable[[_MsgT], Awaitable[_ResT]]
"""The next step of the chain: the handler's `handle`, or the next middleware."""


class Middleware(Protocol):
    """Runs around a handler call; must call `handle(request)` to go on.

    Generic over the message and result so one middleware serves every handler::

        class Timing:
            async def __call__(self, request: R, handle: Handle[R, T], /) -> T:
                started = time.perf_counter()
                try:
                    return await handle(request)
                finally:
                    print(time.perf_counter() - started)
    """

    def __call__(self, request: _MsgT, handle: Handle[_MsgT, _ResT], /) -> Awaitable[_ResT]:
        """Process `request`, calling `handle` to reach the handler.

        Usually an `async def`; a plain `def` returning an awaitable works too.
        """
        ...


def _link(middleware: Middleware, call_next: Handle[_MsgT, _ResT]) -> Handle[_MsgT, _ResT]:
    async def call(request: _MsgT) -> _ResT:
        return await middleware(request, call_next)

    return call


class MiddlewareChain:
    """An ordered list of middlewares; the first added is the outermost."""

    __slots__ = ("_middlewares",)

    def __init__(self, middlewares: Sequence[Middleware] = ()) -> None:
        self._middlewares: list[Middleware] = list(middlewares)

    def add(self, middleware: Middleware) -> None:
        """Append a middleware; it runs inside every middleware added before it."""
        self._middlewares.append(middleware)

    @property
    def middlewares(self) -> Sequence[Middleware]:
        """The middlewares, outermost first."""
        return tuple(self._middlewares)

    def __len__(self) -> int:
        return len(self._middlewares)

    def wrap(self, handle: Handle[_MsgT, _ResT]) -> Handle[_MsgT, _ResT]:
        """Return `handle` wrapped by every middleware, the first added outermost."""
        wrapped = handle
        for middleware in reversed(self._middlewares):
            wrapped = _link(middleware, wrapped)
        return wrapped

    def call(self, handle: Handle[_MsgT, _ResT], message: _MsgT, /) -> Awaitable[_ResT]:
        """`self.wrap(handle)(message)`, with one closure less (none for one middleware):
        the outermost middleware is called directly. This runs on every request."""
        middlewares = self._middlewares
        if not middlewares:
            return handle(message)
        call_next = handle
        for middleware in reversed(middlewares[1:]):
            call_next = _link(middleware, call_next)
        return middlewares[0](message, call_next)
