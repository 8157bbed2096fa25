"""`DIContainer`: the `Container` protocol over a `di.Container`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Final, cast

import di
import di.exceptions
from di.dependent import Dependent
from di.executors import AsyncExecutor, SyncExecutor
from typing_extensions import TypeVar, is_protocol

from cqrs._errors import DependencyResolutionError

__all__ = ("DIContainer",)

_T = TypeVar("_T")

SCOPES: Final = ("singleton", "request")
"""The scopes a `Dependent` may name: one per container, and one per resolved handler."""


def _direct_factory(solved: di.SolvedDependent[_T]) -> Callable[[], _T] | None:
    # Only a request-scoped lone constructor: di would build a new one per resolve,
    # exactly like calling it. A singleton (or any other scope) keeps di's caching.
    dependency = solved.dependency
    if len(solved.dag) != 1 or dependency.scope != "request":
        return None
    call = dependency.call
    if not isinstance(call, type) or any(solved.dag.values()):
        return None
    return call


def _is_async(call: object) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)


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
        "_direct",
        "_executor",
        "_singleton_context",
        "_singletons",
        "_solved",
        "_sync",
        "_sync_executor",
    )

    def __init__(self, external_container: di.Container | None = None) -> None:
        self._container = external_container if external_container is not None else di.Container()
        self._solved: dict[type[Any], di.SolvedDependent[Any]] = {}
        # Types whose solved graph is a lone constructor with nothing to inject: the
        # executor would only call it, so call it directly (the common handler case).
        self._direct: dict[type[Any], Callable[[], Any]] = {}
        self._executor = AsyncExecutor()
        self._sync_executor = SyncExecutor()
        self._sync: set[type[Any]] = set()
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
        self._direct.clear()
        self._sync.clear()

    def prepare(self, types: Iterable[type[Any]]) -> None:
        """Solve and check the graphs of `types` now, so that wiring errors surface early.

        Raises:
            DependencyResolutionError: a type, or one of its dependencies, cannot be
                built by the container (an unbound protocol or abstract class, a
                parameter with no annotation, ...). The message names both.
        """
        for type_ in types:
            self._solve(type_)

    async def resolve(self, type_: type[_T], /) -> _T:
        """Build a fresh `type_`, its dependencies injected."""
        factory = self._direct.get(type_)
        if factory is not None:
            return cast("_T", factory())
        solved: di.SolvedDependent[_T] | None = self._solved.get(type_)
        if solved is None:
            solved = self._solve(type_)
            factory = self._direct.get(type_)
            if factory is not None:
                return cast("_T", factory())
        singletons = self._singletons
        if singletons is None:
            singletons = await self._enter_singletons()
        if type_ in self._sync:
            # Nothing async in the graph: di's sync executor skips the coroutine machinery.
            with singletons.enter_scope("request") as state:
                return solved.execute_sync(self._sync_executor, state)
        async with singletons.enter_scope("request") as state:
            return await solved.execute_async(self._executor, state)

    async def aclose(self) -> None:
        """Close the singleton scope, running the teardown of singleton dependencies."""
        context, self._singleton_context, self._singletons = self._singleton_context, None, None
        if context is not None:
            await context.__aexit__(None, None, None)

    async def _enter_singletons(self) -> di.ScopeState:
        # Entered once and kept open: singletons live as long as the container.
        context = di.ScopeState().enter_scope("singleton")
        state = await context.__aenter__()
        self._singleton_context, self._singletons = context, state
        return state

    def _solve(self, type_: type[_T]) -> di.SolvedDependent[_T]:
        try:
            solved = self._container.solve(Dependent(type_, scope="request"), scopes=SCOPES)
        except di.exceptions.DependencyInjectionException as exc:
            msg = f"the container cannot build {_name(type_)}: {exc}"
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
        if not any(_is_async(dependent.call) for dependent in solved.dag):
            self._sync.add(type_)
        direct = _direct_factory(solved)
        if direct is not None:
            self._direct[type_] = direct
        return solved
