"""The container protocol: how mediators get handler instances."""

from __future__ import annotations

from typing import Any, Protocol

from typing_extensions import TypeVar

__all__ = ("Container", "Resolver")

_T = TypeVar("_T")
_ExternalT = TypeVar("_ExternalT", default=Any)


class Resolver(Protocol):
    """The one thing a mediator needs from a container: build an instance of a type."""

    async def resolve(self, type_: type[_T], /) -> _T:
        """Return an instance of `type_`, its dependencies injected."""
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
