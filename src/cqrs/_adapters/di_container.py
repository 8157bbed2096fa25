"""`DIContainer`: the `Container` protocol over a `di.Container`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast, overload

import di
import di.exceptions
from di.api.dependencies import CacheKey
from typing_extensions import TypeVar, is_protocol

from cqrs._adapters._di_plan import MISSING, Plan, compile_plan
from cqrs._errors import DependencyResolutionError
from cqrs._interfaces.container import Release

if TYPE_CHECKING:
    from di.executors import AsyncExecutor

__all__ = ("DIContainer",)

_T = TypeVar("_T")

SCOPES: Final = ("singleton", "request")
"""The scopes a `Dependent` may name: one per container, and one per resolved handler."""


def _name(call: object) -> str:
    return getattr(call, "__qualname__", None) or repr(call)


class DIContainer:
    """Builds handlers with a `di.Container`, injecting their constructor dependencies.

    Bind an interface to its implementation with `di`'s own API::

        container = di.Container()
        container.bind(di.bind_by_type(Dependent(SqlUsers, scope="singleton"), Users))
        mediator = bootstrap.bootstrap(di_container=container, ...)

    Each type is solved once and its graph reused. Every `resolve` enters a fresh
    `"request"` scope, so handlers and request-scoped dependencies are new each time;
    `"singleton"` dependencies live as long as this object (until `aclose()`).
    """

    __slots__ = (
        "_container",
        "_executor",
        "_plans",
        "_singleton_context",
        "_singleton_values",
        "_singletons",
        "_solved",
    )

    def __init__(self, external_container: di.Container | None = None) -> None:
        self._container = external_container if external_container is not None else di.Container()
        self._solved: dict[type[Any], di.SolvedDependent[Any]] = {}
        # Graphs of plain constructors (the common handler case) run as direct calls.
        self._plans: dict[type[Any], Plan] = {}
        # di's cache of the singleton scope, once entered; plans read singletons from it.
        self._singleton_values: Mapping[CacheKey, Any] = {}
        # di's executors (and anyio under them) and its `Dependent` are loaded when a
        # container is built and when a type is first solved, not by `import cqrs`.
        from di.executors import AsyncExecutor

        self._executor: AsyncExecutor = AsyncExecutor()
        self._singleton_context: Any = None
        self._singletons: di.ScopeState | None = None

    @property
    def external_container(self) -> di.Container:
        """The wrapped `di.Container`."""
        return self._container

    def attach_external_container(self, container: di.Container, /) -> None:
        """Wrap another `di.Container`; graphs solved for the old one are dropped."""
        self._container = container
        self._solved.clear()
        self._plans.clear()

    def prepare(self, types: Iterable[type[Any]]) -> None:
        """Solve and check the graphs of `types` now, so that wiring errors surface early.

        Raises:
            DependencyResolutionError: a type, or one of its dependencies, cannot be
                built by the container (an unbound protocol or abstract class, a
                parameter with no annotation, ...). The message names both.
        """
        for type_ in types:
            self._solve(type_)

    # Two overloads, one signature: with a single `type[_T]` parameter, mypy refuses an
    # abstract class or a protocol ("Only concrete class can be given"), and resolving
    # the implementation bound to an interface is what a container is for.
    @overload
    async def resolve(self, type_: type[_T], /) -> _T: ...
    @overload
    async def resolve(self, type_: Callable[..., _T], /) -> _T: ...
    async def resolve(self, type_: Any, /) -> Any:
        """Build a fresh `type_`, its dependencies injected.

        The `"request"` scope closes before this returns: request-scoped generator
        dependencies are already torn down. Mediators use `resolve_scoped` instead.
        """
        plan = self._plans.get(type_)
        if plan is not None:  # the common case, without the scope machinery below
            built = plan.run(self._singleton_values)
            if built is not MISSING:
                return built
        instance, release = await self.resolve_scoped(type_)
        if release is not None:
            await release(None)
        return instance

    async def resolve_scoped(self, type_: type[_T], /) -> tuple[_T, Release | None]:
        """Build a fresh `type_` in a new `"request"` scope, left open for the caller.

        Returns the instance and the release that closes its scope (running the
        teardown of request-scoped generator dependencies, which see the exception
        passed to it), or None when nothing in the graph needs closing.
        """
        plan = self._plans.get(type_)
        if plan is None and type_ not in self._solved:
            plan = self._solve(type_)
        if plan is not None:
            built = plan.run(self._singleton_values)
            if built is not MISSING:
                return cast("_T", built), None
        solved: di.SolvedDependent[_T] = self._solved[type_]
        # di's executor: for graphs a plan cannot run, and for the first resolve of one
        # whose singletons are not built yet (di builds and caches them here).
        singletons = self._singletons
        if singletons is None:
            singletons = await self._enter_singletons()
        scope = singletons.enter_scope("request")
        state = await scope.__aenter__()
        try:
            built = await solved.execute_async(self._executor, state)
        except BaseException as error:
            await scope.__aexit__(type(error), error, error.__traceback__)
            raise

        async def release(error: BaseException | None) -> None:
            if error is None:
                await scope.__aexit__(None, None, None)
            else:
                await scope.__aexit__(type(error), error, error.__traceback__)

        return built, release

    async def aclose(self) -> None:
        """Close the singleton scope, running the teardown of singleton dependencies."""
        context, self._singleton_context, self._singletons = self._singleton_context, None, None
        self._singleton_values = {}
        if context is not None:
            await context.__aexit__(None, None, None)

    async def _enter_singletons(self) -> di.ScopeState:
        # Entered once and kept open: singletons live as long as the container.
        context = di.ScopeState().enter_scope("singleton")
        state = await context.__aenter__()
        self._singleton_context, self._singletons = context, state
        # di caches singleton values in this dict; request scopes entered below share it.
        self._singleton_values = state.cached_values["singleton"]
        return state

    def _solve(self, type_: type[Any]) -> Plan | None:
        from di.dependent import Dependent

        try:
            solved = self._container.solve(Dependent(type_, scope="request"), scopes=SCOPES)
        except di.exceptions.DependencyInjectionException as exc:
            msg = f"the container cannot build {_name(type_)}: {exc}"
            raise DependencyResolutionError(msg) from exc
        except NameError as exc:
            # An annotation in the graph names something imported only for type checking.
            msg = (
                f"the container cannot build {_name(type_)}: reading the annotations of "
                f"its dependencies failed ({exc}); bind the type that has them to a "
                "factory: container.bind(di.bind_by_type(Dependent(factory), Type))"
            )
            raise DependencyResolutionError(msg) from exc
        for dependent in solved.dag:
            call = dependent.call
            if call is type_ or not isinstance(call, type):
                continue
            if is_protocol(call) or inspect.isabstract(call):
                kind = "protocol" if is_protocol(call) else "abstract class"
                msg = (
                    f"the container cannot build {_name(type_)}: it depends on the "
                    f"{kind} {_name(call)}, and no implementation is bound to it; bind "
                    f"one with container.bind(di.bind_by_type(Dependent(Impl), "
                    f"{_name(call)}))"
                )
                raise DependencyResolutionError(msg)
        self._solved[type_] = solved
        plan = compile_plan(solved)
        if plan is not None:
            self._plans[type_] = plan
        return plan
