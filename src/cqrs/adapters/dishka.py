"""`DishkaContainer`: the `Container` protocol over a dishka `AsyncContainer`.

Needs the `dishka` extra (`pip install "cqrs-typed[dishka]"`); `import cqrs` never
imports dishka, only this module does. Import it from `cqrs.container.dishka`, which
re-exports it.

Handlers are provided by the dishka container like anything else, usually in the
`REQUEST` scope; each handler is built in a `REQUEST` scope of its own::

    class AppProvider(dishka.Provider):
        engine = dishka.provide(make_engine, scope=dishka.Scope.APP)
        session = dishka.provide(open_session, scope=dishka.Scope.REQUEST)
        register = dishka.provide(RegisterHandler, scope=dishka.Scope.REQUEST)

    container = dishka.make_async_container(AppProvider())
    mediator = bootstrap.bootstrap(di_container=DishkaContainer(container), ...)

`DishkaCQRSContainer` is the same class under the name python-cqrs uses.
"""

from __future__ import annotations

from typing_extensions import TypeVar

from cqrs.container.protocol import Release
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError

try:
    from dishka import AsyncContainer, BaseScope, Scope
    from dishka.exceptions import (
        ChildScopeNotFoundError,
        NoActiveFactoryError,
        NoChildScopesError,
        NoContextValueError,
        NoFactoryError,
    )
except ImportError as _missing:
    _msg = (
        "DishkaContainer (cqrs.container.dishka) needs dishka, which is not installed: "
        'pip install "cqrs-typed[dishka]"'
    )
    raise ImportError(_msg, name=_missing.name) from _missing

__all__ = ("DishkaCQRSContainer", "DishkaContainer")

_T = TypeVar("_T")

# What dishka raises when it has nothing to build a type with: a wiring mistake.
_MISSING = (NoFactoryError, NoActiveFactoryError, NoContextValueError)


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)


class DishkaContainer:
    """Builds handlers with a dishka `AsyncContainer`, each in a child scope of its own.

    Wrap the container of the scope above the one to enter: the `APP` container
    `make_async_container` returns, for the default `scope=Scope.REQUEST`. Each resolve
    enters a new child container of that scope (`async with container(scope=...)`),
    so a handler and its request-scoped dependencies are new each time and shared
    within that handler's graph, while `APP` dependencies are shared by all. The
    mediators keep the child open while the handler runs (a stream: until it ends or
    the consumer stops), then close it with the handler's exception, which dishka
    hands to its generator factories as the value of their `yield` (`error = yield
    session`). Concurrent handlers never share a child. Inside a framework request
    whose dishka container is already in `REQUEST` scope, wrap that one with
    `scope=Scope.ACTION`, so that handlers share the request's dependencies but get
    their own `ACTION` ones.
    """

    __slots__ = ("_container", "_scope")

    def __init__(
        self,
        external_container: AsyncContainer | None = None,
        /,
        *,
        scope: BaseScope = Scope.REQUEST,
    ) -> None:
        """Wrap `external_container` (or attach one later).

        Args:
            external_container: the dishka container whose child scopes build handlers.
            scope: the scope each resolve enters; `Scope.REQUEST` by default.
        """
        self._container = external_container
        self._scope = scope

    @property
    def external_container(self) -> AsyncContainer:
        """The wrapped dishka container.

        Raises:
            InvalidConfigurationError: no container is attached yet.
        """
        if self._container is None:
            msg = (
                "no dishka container is attached: pass one to DishkaContainer(container) "
                "or call attach_external_container"
            )
            raise InvalidConfigurationError(msg)
        return self._container

    def attach_external_container(self, container: AsyncContainer, /) -> None:
        """Wrap `container` instead."""
        self._container = container

    async def resolve(self, type_: type[_T], /) -> _T:
        """Build `type_` in a new child scope, closed before this returns.

        Mediators use `resolve_scoped` instead, to keep the scope open while the handler
        runs.
        """
        instance, release = await self.resolve_scoped(type_)
        await release(None)
        return instance

    async def resolve_scoped(self, type_: type[_T], /) -> tuple[_T, Release]:
        """Build `type_` in a new child scope, left open for the caller.

        Returns the instance and the release that closes the scope, passing dishka the
        exception given to it.

        Raises:
            DependencyResolutionError: dishka has no factory for `type_` or for one of its
                dependencies (the message is dishka's, naming the path).
            InvalidConfigurationError: the wrapped container has no child scope `scope`.
        """
        parent = self.external_container
        try:
            child = parent(scope=self._scope)
        except (ChildScopeNotFoundError, NoChildScopesError) as exc:
            msg = (
                f"cannot enter dishka scope {self._scope} from the wrapped container, in "
                f"scope {parent.scope}: wrap the container of the scope above it (the APP "
                "one from make_async_container for REQUEST), or choose the scope with "
                "DishkaContainer(container, scope=...)"
            )
            raise InvalidConfigurationError(msg) from exc
        request = await child.__aenter__()
        try:
            instance: _T = await request.get(type_)
        except BaseException as error:
            await request.__aexit__(type(error), error, error.__traceback__)
            if isinstance(error, _MISSING):
                msg = f"the dishka container cannot build {_name(type_)}: {error}"
                raise DependencyResolutionError(msg) from error
            raise

        async def release(error: BaseException | None) -> None:
            if error is None:
                await request.__aexit__(None, None, None)
            else:
                await request.__aexit__(type(error), error, error.__traceback__)

        return instance, release


DishkaCQRSContainer = DishkaContainer
"""The name python-cqrs gives its dishka adapter."""
