"""A handler built together with a companion (an outbox, an inbox) in one container scope.

Containers cache request-scoped dependencies per scope, so the handler and its
companion get the same database session: the companion's writes (an outbox row, an
inbox record) commit or roll back with the handler's.
"""

from __future__ import annotations

import inspect
from typing import Any, Generic

from typing_extensions import TypeVar

from cqrs._errors import InvalidConfigurationError
from cqrs._interfaces.container import Release, Resolver, ScopedResolver

__all__ = ("Companions", "Paired")

_CompanionT = TypeVar("_CompanionT")


class Paired(Generic[_CompanionT]):
    """A handler and its companion, built in one scope."""

    __slots__ = ("companion", "handler")

    handler: Any
    companion: _CompanionT


class Companions(Generic[_CompanionT]):
    """Builds handlers with a companion of one type; the paired classes are cached."""

    __slots__ = ("_companion_type", "_pairs")

    def __init__(self, companion_type: type[_CompanionT], *, wanted: str = "a class") -> None:
        given: Any = companion_type  # checked for code that is not type-checked
        if not inspect.isclass(given):
            msg = f"{wanted}, not {given!r}"
            raise InvalidConfigurationError(msg)
        self._companion_type = companion_type
        self._pairs: dict[type[Any], type[Paired[_CompanionT]]] = {}

    @property
    def companion_type(self) -> type[_CompanionT]:
        return self._companion_type

    def pair_type(self, handler_type: type[Any]) -> type[Paired[_CompanionT]]:
        """A class whose constructor takes the handler and the companion (containers read it)."""
        pair = self._pairs.get(handler_type)
        if pair is None:
            pair = self._pairs[handler_type] = _pair_type(handler_type, self._companion_type)
        return pair

    async def open(
        self, container: Resolver, handler_type: type[Any]
    ) -> tuple[Paired[_CompanionT], Release | None]:
        pair_type = self.pair_type(handler_type)
        if isinstance(container, ScopedResolver):
            return await container.resolve_scoped(pair_type)
        return await container.resolve(pair_type), None


def _pair_type(
    handler_type: type[Any], companion_type: type[_CompanionT]
) -> type[Paired[_CompanionT]]:
    def __init__(self: Paired[_CompanionT], handler: object, companion: _CompanionT) -> None:  # noqa: N807 - a constructor
        self.handler = handler
        self.companion = companion

    # Containers read the constructor's annotations to know what to build.
    __init__.__annotations__ = {
        "handler": handler_type,
        "companion": companion_type,
        "return": None,
    }
    name = f"{handler_type.__name__}With{companion_type.__name__}"
    namespace = {"__init__": __init__, "__slots__": (), "__module__": __name__}
    return type(name, (Paired,), namespace)
