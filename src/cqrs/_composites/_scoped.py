"""Build a member handler in its own container scope, closed when it is done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from typing_extensions import TypeVar

from cqrs._interfaces.container import Release, Resolver

__all__ = ("build", "using")

_HandlerT = TypeVar("_HandlerT")
_T = TypeVar("_T")


async def build(container: Resolver, type_: type[_HandlerT]) -> tuple[_HandlerT, Release | None]:
    """`type_` built by `container`, and the release of its scope if it has one."""
    # getattr rather than isinstance(..., ScopedResolver): a protocol check per member
    # and per request would cost more than the rest of the call.
    resolve_scoped = getattr(container, "resolve_scoped", None)
    if resolve_scoped is None:
        return await container.resolve(type_), None
    scoped = cast(
        "Callable[[type[Any]], Awaitable[tuple[_HandlerT, Release | None]]]", resolve_scoped
    )
    return await scoped(type_)


async def using(
    container: Resolver, type_: type[_HandlerT], use: Callable[[_HandlerT], Awaitable[_T]]
) -> _T:
    """Build `type_`, await `use(handler)`, then close the handler's scope."""
    handler, release = await build(container, type_)
    if release is None:
        return await use(handler)
    try:
        result = await use(handler)
    except BaseException as error:
        await release(error)
        raise
    await release(None)
    return result
