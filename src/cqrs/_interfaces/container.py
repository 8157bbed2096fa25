"""The container protocol: how mediators get handler instances."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeAlias, runtime_checkable

from typing_extensions import TypeVar

__all__ = ("Container", "Release", "Resolver", "ScopedResolver")

_T = TypeVar("_T")
_ExternalT = TypeVar("_ExternalT", default=Any)


class Resolver(Protocol):
    """The one thing a mediator needs from a container: build an instance of a type."""

    async def resolve(self, type_: type[_T], /) -> _T:
        """Return an instance of `type_`, its dependencies injected."""
        ...


Release: TypeAlias = Callable[[BaseException | None], Awaitable[None]]
"""Ends the scope an instance was built in, with the exception that ended its use."""


@runtime_checkable
class ScopedResolver(Protocol):
    """A resolver whose instances may hold resources until the mediator is done.

    Mediators use `resolve_scoped` when their container has it: the handler's
    dependencies (a database session opened by a generator, say) then stay open
    while the handler runs, and close after it, seeing its exception if it raised.
    The handler's exception propagates even if the teardown suppresses it.
    """

    async def resolve_scoped(self, type_: type[_T], /) -> tuple[_T, Release | None]:
        """Build `type_`; return it and the release to await when done (None: nothing)."""
        ...


class Container(Resolver, Protocol[_ExternalT]):
    """A dependency container wrapping an external one (for example `di.Container`).

    Any object with these members works; `cqrs.DIContainer` is the one shipped.
    """

    @property
    def external_container(self) -> _ExternalT:
        """The wrapped container."""
        ...

    def attach_external_container(self, container: _ExternalT, /) -> None:
        """Replace the wrapped container."""
        ...
